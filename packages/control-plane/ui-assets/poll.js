// One screen at a time: a new route stops the old screen's refresh loop, its live stream and
// anything else it registered with onLeave().

let pollTimer;
let generation = 0;
const leaving = [];

export function stopPolling() {
  generation++;
  clearTimeout(pollTimer);
  for (const fn of leaving.splice(0)) fn();
}

/** A function that says whether the screen that called it is still the one shown. */
export function currentScreen() {
  const mine = generation;
  return () => mine === generation;
}

/** Runs when the screen is left (a new route, the token prompt). */
export function onLeave(fn) {
  leaving.push(fn);
}

/** Runs load() now and every `ms` while the route stays the same. */
export function poll(ms, load) {
  stopPolling();
  const mine = generation;
  const tick = async () => {
    const keepGoing = await load(() => mine === generation);
    if (mine === generation && keepGoing !== false) pollTimer = setTimeout(tick, ms);
  };
  tick();
}
