package api

// DefaultMaxInFlight is the default bound on requests served at once,
// sized to memory: a PutSnapshotBlock or GetSnapshotBlock pins a 512 KiB
// block buffer, 1 MiB for an encrypted snapshot, so 128 of them pin at most
// 128 MiB, which with the ~90 MiB the server uses under load (64 SDK
// uploaders, README "Performance") stays under 256 MiB. It is twice the
// 64 workers of the ebs client, so that one default client never meets it.
// A request beyond the bound is refused at once, never queued (see
// package inflight), and every SDK retries the 503 with backoff (spec §5.7).
const DefaultMaxInFlight = 128

// msgBusy is the message of the 503 a request gets beyond the bound.
const msgBusy = "The server is serving as many requests as it allows; retry later."
