{
  "targets": [
    {
      "target_name": "bgpt_exact",
      "type": "static_library",
      "sources": ["src/backend/native/exact.cc"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-std=gnu++17"],
      "cflags_cc": [
        "-std=c++17", "-O3", "-fPIC", "-fopenmp", "-ffp-contract=off", "-fno-trapping-math", "-fno-fast-math", "-Wall", "-Wno-unknown-pragmas", "-Wno-psabi",
        "<!@(node -p \"process.env.BGPT_ARCH_FLAGS ?? '-march=native'\")",
        "<!@(node -p \"process.env.BGPT_SANITIZE_FLAGS ?? ''\")"
      ]
    },
    {
      "target_name": "bgpt_native",
      "sources": [
        "src/backend/native/binding.cc",
        "src/backend/native/matmul.cc",
        "src/backend/native/matmul16.cc",
        "src/backend/native/matmul_bf16.cc",
        "src/backend/native/gemv.cc",
        "src/backend/native/gemv_dot.cc",
        "src/backend/native/pool.cc",
        "src/backend/native/elementwise.cc",
        "src/backend/native/gelu.cc",
        "src/backend/native/layernorm.cc",
        "src/backend/native/attention.cc",
        "src/backend/native/attention_cached.cc",
        "src/backend/native/embedding.cc",
        "src/backend/native/loss.cc",
        "src/backend/native/adamw.cc",
        "src/backend/native/exact-binding.cc"
      ],
      "dependencies": ["bgpt_exact"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": [
        "-std=c++17", "-O3", "-fexceptions", "-fopenmp", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=fast",
        "-Wall", "-Wno-unknown-pragmas", "-Wno-psabi",
        "<!@(node -p \"process.env.BGPT_ARCH_FLAGS ?? '-march=native'\")",
        "<!@(node -p \"process.env.BGPT_SANITIZE_FLAGS ?? ''\")"
      ],
      "ldflags": ["-fopenmp", "<!@(node -p \"process.env.BGPT_SANITIZE_FLAGS ?? ''\")"],
      "libraries": ["-ldnnl"]
    }
  ]
}
