// Per-queue thresholds (config `queues[].thresholds`, sent with each queue's figures) and
// the agents' tally of the wallboard. No DOM here.

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * "alert", "warn" or "ok" for `value` against `{warn, alert}`; null when there is no
 * threshold or no value. Waiting and waits are worse when high; the service level
 * (`lowerIsWorse`) when low.
 */
export function levelOf(value, threshold, { lowerIsWorse = false } = {}) {
  if (!isObj(threshold) || typeof value !== "number" || Number.isNaN(value)) return null;
  const { warn, alert } = threshold;
  const past = (limit) => typeof limit === "number" && (lowerIsWorse ? value <= limit : value >= limit);
  if (past(alert)) return "alert";
  if (past(warn)) return "warn";
  return "ok";
}

/** The levels of a queue row now: {waiting, longest, sl} (null where not configured). */
export function queueLevels(row, now) {
  const th = isObj(row?.thresholds) ? row.thresholds : {};
  const since = Date.parse(row?.oldest_since ?? "");
  const longest = Number.isNaN(since) ? 0 : Math.max(0, (now - since) / 1000);
  return {
    waiting: levelOf(Number(row?.waiting ?? 0), th.waiting),
    longest: levelOf(longest, th.longest_wait_seconds),
    sl: typeof row?.service_level === "number"
      ? levelOf(row.service_level, th.service_level, { lowerIsWorse: true }) : null,
  };
}

/** The worst of some levels ("alert" > "warn" > "ok"), or null. */
export function worst(levels) {
  for (const l of ["alert", "warn", "ok"]) if (levels.includes(l)) return l;
  return null;
}

export const TALLY = ["ready", "busy", "wrap_up", "not_ready"];

/** How many agents are in each state that matters on a wall (logged-out ones are not counted). */
export function tally(agents) {
  const out = Object.fromEntries(TALLY.map((s) => [s, 0]));
  for (const a of agents) {
    const s = a?.state?.status;
    if (s in out) out[s] += 1;
  }
  return out;
}
