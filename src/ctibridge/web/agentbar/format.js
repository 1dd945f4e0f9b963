// Small, dependency-free formatters: phone numbers for reading, durations, labels.

// Country calling codes we group the national way; others get a generic grouping.
// Each entry: code -> list of group sizes for the national significant number
// (the last group absorbs what is left).
const PLANS = {
  1: [3, 3, 4],          // NANP: +1 415 555 0132
  33: [1, 2, 2, 2, 2],   // France: +33 6 12 34 56 78
  32: [3, 2, 2, 2],      // Belgium (mobile): +32 470 12 34 56
  41: [2, 3, 2, 2],      // Switzerland: +41 44 668 18 00
  44: [4, 6],            // UK: +44 7700 900123
  49: [3, 4, 4],         // Germany (approximate): +49 151 2345 6789
  34: [3, 2, 2, 2],      // Spain: +34 612 34 56 78
  39: [3, 3, 4],         // Italy: +39 312 345 6789
  352: [3, 3, 3],        // Luxembourg: +352 621 123 456
  212: [3, 2, 2, 2],     // Morocco: +212 612 34 56 78
  31: [1, 4, 4],         // Netherlands: +31 6 1234 5678
  351: [3, 3, 3],        // Portugal: +351 912 345 678
};
// Codes of one, two and three digits as the ITU assigns them (enough to split
// the country code off any E.164 number).
const ONE = new Set(["1", "7"]);
const TWO = new Set(("20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 " +
  "56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98").split(" "));

function groups(digits, sizes) {
  const out = [];
  let i = 0;
  for (let g = 0; g < sizes.length && i < digits.length; g++) {
    const last = g === sizes.length - 1;
    const n = last ? digits.length - i : sizes[g];
    out.push(digits.slice(i, i + n));
    i += n;
  }
  if (i < digits.length) out.push(digits.slice(i));
  return out;
}

function pairs(digits) {
  // Generic reading grouping: pairs, with a leading triple when the length is odd.
  const out = [];
  let i = digits.length % 2 === 1 ? 3 : 2;
  if (digits.length <= 4) return [digits];
  out.push(digits.slice(0, i));
  for (; i < digits.length; i += 2) out.push(digits.slice(i, i + 2));
  return out;
}

/**
 * A phone number for reading: "+33612345678" -> "+33 6 12 34 56 78",
 * "0612345678" -> "06 12 34 56 78". Extensions ("1002") and anything that is
 * not a plain number ("anonymous") come back unchanged.
 */
export function formatPhone(raw) {
  if (typeof raw !== "string") return "";
  const text = raw.trim();
  const compact = text.replace(/[\s().-]/g, "");
  if (/^\+\d{6,15}$/.test(compact)) {
    const d = compact.slice(1);
    let cc = d.slice(0, 1);
    if (!ONE.has(cc)) cc = TWO.has(d.slice(0, 2)) ? d.slice(0, 2) : d.slice(0, 3);
    const national = d.slice(cc.length);
    const plan = PLANS[cc];
    const parts = plan && national.length >= plan.reduce((a, b) => a + b, 0) - 2
      ? groups(national, plan) : pairs(national);
    return `+${cc} ${parts.join(" ")}`;
  }
  if (/^0\d{9}$/.test(compact)) return pairs(compact).join(" ");  // French national
  if (/^\d{7,15}$/.test(compact)) return pairs(compact).join(" ");
  return text;
}

/** Seconds as m:ss or h:mm:ss (negative values count as zero). */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** A configured code's label in `lang` ({code, label: {en, fr}}), else English, else the code. */
export function codeLabel(coded, lang) {
  if (!coded || typeof coded !== "object") return "";
  const label = coded.label;
  if (label && typeof label === "object") {
    const text = label[lang] ?? label.en;
    if (typeof text === "string" && text) return text;
  }
  return typeof coded.code === "string" ? coded.code : "";
}

/** A time of day for the recent-calls list, in the user's locale. */
export function formatTime(iso, lang) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString(lang === "fr" ? "fr-FR" : "en-GB", { hour: "2-digit", minute: "2-digit" });
}

/** What can be dialled: digits, +, *, #, and the separators people type. */
export function dialable(text) {
  if (typeof text !== "string") return null;
  const t = text.trim();
  if (!/^\+?[0-9A-Za-z*#().\s-]{1,40}$/.test(t)) return null;
  return /^[+0-9*#().\s-]+$/.test(t) ? t.replace(/[\s().-]/g, "") : t;
}
