// Refreshing a screen: one load loop at a time; a new route stops the old one.

let pollTimer;
let generation = 0;

export function stopPolling() {
  generation++;
  clearTimeout(pollTimer);
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
