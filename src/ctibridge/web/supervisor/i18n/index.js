// The supervisor page's texts: its own catalogue first, then the agent bar's
// (states, connection, errors are the bar's words), English as the last resort.
// The current language is the bar's (one choice per browser, shared).

import { catalogues as bar, getLanguage } from "../../agentbar/i18n/index.js";
import en from "./en.js";
import fr from "./fr.js";

export const catalogues = { en, fr };
export { LANGUAGES, detectLanguage, getLanguage, setLanguage } from "../../agentbar/i18n/index.js";

export function lookup(key, lang = getLanguage()) {
  return catalogues[lang]?.[key] ?? bar[lang]?.[key] ?? catalogues.en[key] ?? bar.en[key];
}

export function has(key) {
  return lookup(key) !== undefined;
}

export function t(key, params = {}) {
  const text = lookup(key);
  if (text === undefined) {
    console.warn(`ctibridge: no text for ${key}`);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}
