{
  "targets": [
    {
      "target_name": "bgpt_native",
      "sources": [
        "src/backend/native/binding.cc",
        "src/backend/native/matmul.cc",
        "src/backend/native/elementwise.cc",
        "src/backend/native/gelu.cc",
        "src/backend/native/layernorm.cc",
        "src/backend/native/attention.cc",
        "src/backend/native/embedding.cc",
        "src/backend/native/loss.cc",
        "src/backend/native/adamw.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": [
        "-std=c++17", "-O3", "-fexceptions", "-fopenmp", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=fast",
        "-Wall", "-Wno-unknown-pragmas", "-Wno-psabi",
        "<!@(node -p \"process.env.BGPT_ARCH_FLAGS ?? '-march=native'\")"
      ],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl"]
    }
  ]
}
