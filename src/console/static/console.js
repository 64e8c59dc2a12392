// Rebound console: live updates only. Every page works without this file; with it, pages marked
// data-live reload their <main> when the server says incidents changed (server-sent events), unless
// the reader is in the middle of filling in a form.
(function () {
  'use strict';
  var main = document.getElementById('live');
  if (!main || !main.hasAttribute('data-live') || typeof EventSource === 'undefined') return;
  var busy = false;
  var again = false;

  function typing() {
    var active = document.activeElement;
    if (active && main.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) return true;
    var fields = main.querySelectorAll('textarea, input[type=text], input:not([type])');
    for (var i = 0; i < fields.length; i++) if (fields[i].value) return true;
    return false;
  }

  function refresh() {
    if (busy) {
      again = true;
      return;
    }
    if (typing()) return;
    busy = true;
    fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.text();
      })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, 'text/html');
        var fresh = doc.getElementById('live');
        if (fresh) main.innerHTML = fresh.innerHTML;
        var count = doc.getElementById('pending-count');
        var mine = document.getElementById('pending-count');
        if (count && mine) {
          mine.textContent = count.textContent;
          mine.className = count.className;
        }
        main.setAttribute('data-updated', String(Date.now()));
      })
      .catch(function () {
        /* the next change tries again */
      })
      .then(function () {
        busy = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  var events = new EventSource('/events');
  events.addEventListener('change', refresh);
  // A change between this page being rendered and the stream opening (or while it was reconnecting)
  // is never announced: the server only compares polls made while someone listens. So look once.
  events.addEventListener('open', refresh);
  document.documentElement.setAttribute('data-live-connected', '1');
})();
