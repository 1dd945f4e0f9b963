// One catalogue per language (en.js, fr.js); t() looks a key up in the current
// language, then in English, and fills {placeholders} as plain text.

import en from "./en.js";
import fr from "./fr.js";

export const catalogues = { en, fr };
export const LANGUAGES = Object.keys(catalogues);
const STORAGE_KEY = "ctibridge.lang";

let current = "en";

export function getLanguage() {
  return current;
}

export function setLanguage(lang, { remember = true } = {}) {
  if (!catalogues[lang]) return false;
  current = lang;
  if (remember) {
    try { globalThis.localStorage?.setItem(STORAGE_KEY, lang); } catch { /* private mode */ }
  }
  return true;
}

/** The language to start with: remembered choice, else the browser's, else `fallback`. */
export function detectLanguage({ stored, languages = [], fallback = "en" } = {}) {
  if (stored === undefined) {
    try { stored = globalThis.localStorage?.getItem(STORAGE_KEY); } catch { stored = null; }
  }
  if (stored && catalogues[stored]) return stored;
  for (const tag of languages) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (catalogues[base]) return base;
  }
  return catalogues[fallback] ? fallback : "en";
}

export function has(key) {
  return key in catalogues[current] || key in catalogues.en;
}

export function t(key, params = {}) {
  const text = catalogues[current][key] ?? catalogues.en[key];
  if (text === undefined) {
    console.warn(`ctibridge: no text for ${key}`);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}
