// NativeWal: the JS handle on the process-wide native Wal of one path (native/core/wal.h).
//
// Each `new NativeWal(dbPath, options, listener)` acquires a reference from the core registry
// (AcquireWal: every environment — main thread and worker_threads — shares one Wal per path),
// registers a core listener that forwards epoch events through its own WalEventChannel (TSFN),
// and registers an env cleanup hook that closes the handle when the environment goes away
// (worker terminated, process exiting). close() / the hook / GC: remove the listener, release
// the TSFN, ReleaseWal (the last reference closes the Wal and joins its flusher thread on the
// releasing thread). The addon is also pinned in memory (wal_pin.h) once a Wal exists.
//
// JS surface (methods on the prototype; see lib/native.ts for the types):
//   submitOne(txnId, txnEpoch, commitSeq, pageNumber, pageData, dbSizeIfCommit) -> epoch
//   submit(txnId, txnEpoch, commitSeq, frames) -> epoch
//   currentEpoch(), durableEpoch() (-1: none), threadSlot(), isRunning(), isFailed()
//   start(fsyncPolicy), stop(), advanceAndFlush(timeoutMs) -> Promise<newEpoch>
//   checkpoint(epoch) -> Promise<[filesDeleted, bytesFreed, firstRetainedEpoch]>
//   setWaiting(bool) -> durableEpoch, requestFlush(), endTurn(),
//   failure() -> [epoch, code, msg, errno]?
//   close(abort), stats()
// Per-environment state lives in the handles and in the class's WalEnv (constructor data),
// never in statics.
#pragma once

#include <napi.h>

namespace pwal {
void RegisterWal(Napi::Env env, Napi::Object exports);
}
