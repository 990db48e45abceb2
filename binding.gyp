# The same addon as CMakeLists.txt, for node-gyp (`npm run build:gyp`). The PJRT header must
# have been provisioned first (node scripts/install.mjs --native-only, or provisionHeader()).
{
  "targets": [
    {
      "target_name": "pjrt_bert",
      "sources": [
        "native/addon.cc",
        "native/buffer.cc",
        "native/client.cc",
        "native/completion.cc",
        "native/executable.cc",
        "native/handles.cc",
        "native/host_staging.cc",
        "native/js_glue.cc",
        "native/pjrt_call.cc",
        "native/plugin.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(module_root_dir)/.cache/pjrt/include"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "libraries": ["-ldl"]
    }
  ]
}
