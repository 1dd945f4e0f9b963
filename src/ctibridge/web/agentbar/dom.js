// A tiny element builder. Text goes in through textContent only: nothing the
// hub or a host page sends is ever parsed as HTML.

/**
 * h("button", {class: "x", text: "OK", attrs: {"aria-label": "…"}, on: {click: fn}}, child, …)
 * Children are nodes or strings (strings become text nodes); null/false are skipped.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "attrs") for (const [a, v] of Object.entries(value)) { if (v !== null && v !== undefined && v !== false) el.setAttribute(a, v === true ? "" : String(v)); }
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el[key] = value;
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Set text only when it changed (keeps screen readers and selections calm). */
export function setText(el, text) {
  const t = text ?? "";
  if (el.textContent !== t) el.textContent = t;
}

/**
 * Enable or disable a button. Disabled buttons stay focusable (aria-disabled)
 * so that the tooltip saying why can be read, by mouse and by screen reader.
 */
export function enable(button, ok, why = "") {
  button.setAttribute("aria-disabled", ok ? "false" : "true");
  const title = ok || !why ? (button.dataset.hint ?? "") : why;
  if (title) button.title = title; else button.removeAttribute("title");
}

export function isEnabled(button) {
  return button.getAttribute("aria-disabled") !== "true";
}

/** A click handler that does nothing on an aria-disabled button. */
export function onActivate(button, fn) {
  button.addEventListener("click", (ev) => {
    if (!isEnabled(button)) { ev.preventDefault(); return; }
    fn(ev);
  });
  return button;
}
