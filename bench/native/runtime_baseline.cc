// Baseline for `npm run bench:runtime`: what PJRT costs when called directly from C++, with no
// JavaScript in between. Prints one JSON object:
//   execute_us     mean wall time of Execute + awaiting completion, tiny program (f32[16] negate)
//   memcpy_gbps    plain memcpy bandwidth of a 64 MiB array (the transfer goal's yardstick)
//   memcpy_fresh_gbps   memcpy into freshly allocated memory each time (first-touch page faults
//                  included: what any copy into a new array pays)
//   h2d_gbps, d2h_gbps   PJRT host->device / device->host bandwidth for 64 MiB, called directly
// usage: runtime_baseline PLUGIN.so [executes]
#include <dlfcn.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "handles.h"

using pjrt::Status;
using Clock = std::chrono::steady_clock;

namespace {

void Check(const Status& status) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", status.function.c_str(), status.message.c_str());
    std::exit(1);
  }
}

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

PJRT_Buffer* Upload(const PJRT_Api* api, PJRT_Client* client, PJRT_Device* device, const void* data, int64_t count) {
  PJRT_ARGS(PJRT_Client_BufferFromHostBuffer, args);
  args.client = client;
  args.data = data;
  args.type = PJRT_Buffer_Type_F32;
  args.dims = &count;
  args.num_dims = 1;
  args.host_buffer_semantics = PJRT_HostBufferSemantics_kImmutableUntilTransferCompletes;
  args.device = device;
  Check(PJRT_CALL(api, PJRT_Client_BufferFromHostBuffer, &args));
  Check(pjrt::AwaitAndDestroyEvent(api, args.done_with_host_buffer));
  return args.buffer;
}

void Download(const PJRT_Api* api, PJRT_Buffer* buffer, void* dst, size_t size) {
  PJRT_ARGS(PJRT_Buffer_ToHostBuffer, args);
  args.src = buffer;
  args.dst = dst;
  args.dst_size = size;
  Check(PJRT_CALL(api, PJRT_Buffer_ToHostBuffer, &args));
  Check(pjrt::AwaitAndDestroyEvent(api, args.event));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PLUGIN.so [executes]\n", argv[0]);
    return 2;
  }
  const int executes = argc > 2 ? std::atoi(argv[2]) : 20000;
  void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    std::fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  auto get_api = reinterpret_cast<const PJRT_Api* (*)()>(dlsym(library, "GetPjrtApi"));
  const PJRT_Api* api = get_api();
  PJRT_ARGS(PJRT_Plugin_Initialize, init);
  Check(PJRT_CALL(api, PJRT_Plugin_Initialize, &init));
  PJRT_ARGS(PJRT_Client_Create, create);
  Check(PJRT_CALL(api, PJRT_Client_Create, &create));
  PJRT_Client* client = create.client;
  PJRT_ARGS(PJRT_Client_AddressableDevices, devices);
  devices.client = client;
  Check(PJRT_CALL(api, PJRT_Client_AddressableDevices, &devices));
  PJRT_Device* device = devices.addressable_devices[0];

  std::string code =
      "func.func public @main(%arg0: tensor<16xf32>) -> tensor<16xf32> {\n"
      "  %0 = stablehlo.negate %arg0 : tensor<16xf32>\n"
      "  return %0 : tensor<16xf32>\n}\n";
  const char options[] = {0x1a, 0x04, 0x20, 0x01, 0x28, 0x01};
  PJRT_Program program;
  std::memset(&program, 0, sizeof(program));
  program.struct_size = PJRT_Program_STRUCT_SIZE;
  program.code = code.data();
  program.code_size = code.size();
  program.format = "mlir";
  program.format_size = 4;
  PJRT_ARGS(PJRT_Client_Compile, compile);
  compile.client = client;
  compile.program = &program;
  compile.compile_options = options;
  compile.compile_options_size = sizeof(options);
  Check(PJRT_CALL(api, PJRT_Client_Compile, &compile));

  std::vector<float> small(16, 1.0f);
  PJRT_Buffer* input = Upload(api, client, device, small.data(), 16);
  auto execute_once = [&]() {
    PJRT_ExecuteOptions execute_options;
    std::memset(&execute_options, 0, sizeof(execute_options));
    execute_options.struct_size = PJRT_ExecuteOptions_STRUCT_SIZE;
    PJRT_Buffer* const inputs[] = {input};
    PJRT_Buffer* const* arg_lists[] = {inputs};
    PJRT_Buffer* outputs[1] = {nullptr};
    PJRT_Buffer** out_lists[] = {outputs};
    PJRT_Event* done = nullptr;
    PJRT_ARGS(PJRT_LoadedExecutable_Execute, args);
    args.executable = compile.executable;
    args.options = &execute_options;
    args.argument_lists = arg_lists;
    args.num_devices = 1;
    args.num_args = 1;
    args.output_lists = out_lists;
    args.device_complete_events = &done;
    Check(PJRT_CALL(api, PJRT_LoadedExecutable_Execute, &args));
    Check(pjrt::AwaitAndDestroyEvent(api, done));
    pjrt::DestroyBuffer(api, outputs[0]);
  };
  for (int i = 0; i < 1000; ++i) execute_once();
  auto start = Clock::now();
  for (int i = 0; i < executes; ++i) execute_once();
  const double execute_us = Seconds(start) / executes * 1e6;

  const size_t bytes = 64u << 20;
  const int64_t count = bytes / sizeof(float);
  std::vector<float> host(count, 0.5f), back(count);
  const int reps = 10;
  std::memcpy(back.data(), host.data(), bytes);
  start = Clock::now();
  for (int i = 0; i < reps; ++i) {
    host[i] = static_cast<float>(i);  // keep the copies from being folded away
    std::memcpy(back.data(), host.data(), bytes);
  }
  const double memcpy_gbps = bytes * reps / Seconds(start) / 1e9;
  double fresh_seconds = 0;
  for (int i = 0; i < reps; ++i) {
    auto t0 = Clock::now();
    auto* fresh = static_cast<float*>(std::aligned_alloc(64, bytes));
    std::memcpy(fresh, host.data(), bytes);
    fresh_seconds += Seconds(t0);
    back[i] = fresh[i * 4096];  // keep the copy observable
    std::free(fresh);
  }
  const double memcpy_fresh_gbps = bytes * reps / fresh_seconds / 1e9;

  double h2d = 0, d2h = 0;
  for (int i = 0; i < reps + 1; ++i) {
    auto t0 = Clock::now();
    PJRT_Buffer* big = Upload(api, client, device, host.data(), count);
    const double up = Seconds(t0);
    t0 = Clock::now();
    Download(api, big, back.data(), bytes);
    const double down = Seconds(t0);
    pjrt::DestroyBuffer(api, big);
    if (i > 0) h2d += up, d2h += down;  // the first round warms the allocator
  }
  std::printf("{\"execute_us\": %.3f, \"executes\": %d, \"memcpy_gbps\": %.3f, \"memcpy_fresh_gbps\": %.3f, \"h2d_gbps\": %.3f, \"d2h_gbps\": %.3f, \"bytes\": %zu}\n",
              execute_us, executes, memcpy_gbps, memcpy_fresh_gbps, bytes * reps / h2d / 1e9, bytes * reps / d2h / 1e9, bytes);
  return 0;
}
