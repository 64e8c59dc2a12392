// The incident workflow ids this receiver recently started or joined, newest last, so a repeat of a
// firing alert can go to the running incident as a plain signal (a small request: the notification
// alone) instead of a signal-with-start carrying the incident's whole input and search attributes.
// Only a hint: an id may name an incident that has since closed, and the caller then falls back to
// signal-with-start, so a stale or missing entry costs a round trip, never an alert.

/**
 * Ids kept. An id is about 100 bytes, so 10,000 cost about 2 MiB; a receiver seldom has more
 * incidents firing at once than that, and Alertmanager repeats an incident's alerts every few
 * minutes (repeat_interval) to a few hours, so an id older than 10,000 others is rarely repeated.
 */
export const RECENT_INCIDENTS = 10_000;

export class RecentIncidents {
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  private readonly ids = new Map<string, true>();

  constructor(private readonly capacity = RECENT_INCIDENTS) {}

  has(workflowId: string): boolean {
    return this.ids.has(workflowId);
  }

  /** Marks the id as just started or joined, evicting the least recently used beyond capacity. */
  add(workflowId: string): void {
    this.ids.delete(workflowId);
    this.ids.set(workflowId, true);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.keys().next();
      if (!oldest.done) this.ids.delete(oldest.value);
    }
  }

  delete(workflowId: string): void {
    this.ids.delete(workflowId);
  }

  get size(): number {
    return this.ids.size;
  }
}
