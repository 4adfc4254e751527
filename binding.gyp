{
  "targets": [
    {
      "target_name": "parallel_wal",
      "sources": [
        "native/core/status.cc",
        "native/core/crc32c_dispatch.cc",
        "native/core/crc32c_portable.cc",
        "native/core/crc32c_sse42.cc",
        "native/core/crc32c_avx512.cc",
        "native/core/crc32c_arm.cc",
        "native/core/wal_record.cc",
        "native/core/file_system.cc",
        "native/core/file_system_posix.cc",
        "native/core/fault_file_system.cc",
        "native/core/log_file.cc",
        "native/core/segment_codec.cc",
        "native/core/segment.cc",
        "native/core/segment_recovery.cc",
        "native/core/segment_prepare.cc",
        "native/core/per_core_buffer.cc",
        "native/core/epoch_coordinator.cc",
        "native/core/failing_file_system.cc",
        "native/core/wal.cc",
        "native/core/wal_registry.cc",
        "native/core/wal_control.cc",
        "native/core/wal_checkpoint.cc",
        "native/core/wal_flusher.cc",
        "native/core/wal_log_files.cc",
        "native/core/wal_prepared.cc",
        "native/binding/errors.cc",
        "native/binding/wal_args.cc",
        "native/binding/wal_events.cc",
        "native/binding/wal_options.cc",
        "native/binding/wal_pin.cc",
        "native/binding/wal_binding.cc",
        "native/binding/control_binding.cc",
        "native/binding/crc32c_binding.cc",
        "native/binding/segment_convert.cc",
        "native/binding/segment_binding.cc",
        "native/binding/addon.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags!": ["-fno-exceptions", "-O0", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++14", "-std=gnu++17", "-O0", "-O2"],
      "cflags": ["-O3", "-fvisibility=hidden"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fvisibility=hidden"],
      "libraries": ["-lpthread", "-ldl"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      }
    }
  ]
}
