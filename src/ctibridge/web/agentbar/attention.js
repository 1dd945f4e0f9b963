// Getting the agent's attention when the tab is hidden and a call rings:
// a desktop notification (permission asked once) and a blinking title.

const ASKED_KEY = "ctibridge.notify-asked";

export class Attention {
  constructor(win = window) {
    this.win = win;
    this.doc = win.document;
    this.baseTitle = this.doc.title;
    this.blinker = null;
    this.notified = new Map(); // call_id -> Notification
    this.doc.addEventListener("visibilitychange", () => {
      if (!this.doc.hidden) this.stop();
    });
  }

  /** Ask for notification permission, once per browser, from a user gesture. */
  askOnce() {
    const N = this.win.Notification;
    if (!N || N.permission !== "default") return;
    try {
      if (this.win.localStorage.getItem(ASKED_KEY)) return;
      this.win.localStorage.setItem(ASKED_KEY, "1");
    } catch { /* private mode: ask anyway */ }
    try {
      const p = N.requestPermission();
      if (p && typeof p.catch === "function") p.catch(() => {});
    } catch { /* old callback form or refused in a frame */ }
  }

  /**
   * The calls ringing now, each {call_id, title, body}. Raises attention for
   * new ones when the page is hidden; stops when none rings.
   */
  ringing(calls, titleText) {
    const ids = new Set(calls.map((c) => c.call_id));
    for (const [id, n] of this.notified) {
      if (!ids.has(id)) { try { n?.close(); } catch { /* gone */ } this.notified.delete(id); }
    }
    if (!calls.length) { this.stop(); return; }
    if (!this.doc.hidden) return;
    this.blink(titleText);
    const N = this.win.Notification;
    for (const c of calls) {
      if (this.notified.has(c.call_id)) continue;
      let n = null;
      if (N && N.permission === "granted") {
        try {
          n = new N(c.title, { body: c.body, tag: `ctibridge-${c.call_id}`, requireInteraction: true });
          n.onclick = () => { this.win.focus(); n.close(); };
        } catch (err) {
          console.warn("ctibridge: notification failed", err);
        }
      }
      this.notified.set(c.call_id, n);
    }
  }

  blink(text) {
    if (this.blinker) { this.blinkText = text; return; }
    this.baseTitle = this.doc.title;
    this.blinkText = text;
    let on = true; // the blink text is shown first
    this.blinker = this.win.setInterval(() => {
      on = !on;
      this.doc.title = on ? this.blinkText : this.baseTitle;
    }, 800);
    this.doc.title = text;
  }

  stop() {
    if (this.blinker) {
      this.win.clearInterval(this.blinker);
      this.blinker = null;
      this.doc.title = this.baseTitle;
    }
  }

  setBaseTitle(title) {
    if (this.blinker) this.baseTitle = title;
    else this.doc.title = title;
  }
}
