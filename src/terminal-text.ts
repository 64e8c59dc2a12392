// Text from outside (labels, error messages, names) made safe to print on a terminal: control
// characters, which could move the cursor or rewrite earlier lines, become "?".
export function plain(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?');
}
