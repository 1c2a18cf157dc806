/**
 * Scale-out: several control-plane replicas sharing one database talk over a cluster bus (NATS,
 * or in-process for the embedded default) — agent presence, forwarding of dispatches to the
 * replica that holds the agent, and deployment wake-ups and decisions. Every message on the bus
 * has one typed, versioned form in `messages.ts`, checked on arrival.
 */
export { type BusHealth, BusKind, type BusMessage, type ClusterBus } from './bus.js';
export { type Cluster, type ClusterHealth, type ClusterOptions, createCluster } from './cluster.js';
export { createInProcessBus, createInProcessNetwork } from './in-process-bus.js';
