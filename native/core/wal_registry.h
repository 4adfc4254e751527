// The process-wide Wal registry is declared in wal.h (AcquireWal / ReleaseWal / RemoveWal /
// FindWal / CanonicalWalPath / RegisteredWalCount) and implemented in wal_registry.cc.
//
// Semantics: one entry per canonical path holding a strong reference and a count of handles.
// The registry is heap-allocated and never destroyed, so nothing runs at process exit (a
// process.exit() with commits in flight does not join threads from static destructors); the
// binding releases its handles from env cleanup hooks, and the last release joins the flusher.
#pragma once

#include "wal.h"
