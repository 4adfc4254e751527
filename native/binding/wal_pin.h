// Keeps the addon's shared object mapped for the life of the process once a WAL exists.
//
// Node dlclose()s an addon when the last environment that loaded it goes away (a worker_thread
// exiting: nodejs/node#25577, #37024). A flusher thread of the process-wide WAL registry may
// still be running then (another environment's handle, or the final drain), and would execute
// unmapped code. Two independent defences: the core joins the flusher when the last handle is
// released (ReleaseWal), and this pin: dlopen(own path, RTLD_NOLOAD | RTLD_NODELETE) so the
// library is never unloaded. Process-wide by nature (once per process, any thread).
#pragma once

namespace pwal {

// Idempotent and thread-safe. Returns true when the library is pinned (always true where the
// platform has no dlclose hazard to defend against, e.g. Windows).
bool PinAddonInMemory();

}  // namespace pwal
