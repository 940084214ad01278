// A workload on the modelled kernel: init forks a child, the two talk through a pipe, the
// parent waits for the child and prints what each saw. Built against the public headers
// only. Exits 0 when the run went as expected.

#include <cstdio>
#include <string>

#include "ossim/ossim.hpp"

using namespace ossim;

int main() {
  sim::Engine engine({.seed = 1});
  Machine machine(engine, {.cpus = 2, .memory_bytes = 64 << 20});
  kernel::Kernel kernel(machine, {});
  std::string received;
  int child_status = 0;
  kernel.boot([&](user::Process& self) {  // runs as pid 1
    int fds[2];
    self.pipe(fds);
    const sys::pid_t child = self.fork([&](user::Process& child) {
      child.close(fds[1]);
      char buffer[64];
      const std::int64_t got = child.read(fds[0], std::span<char>(buffer));
      received.assign(buffer, got > 0 ? static_cast<std::size_t>(got) : 0);
      child.write(1, "child: got " + received + "\n");
      return 7;
    });
    self.close(fds[0]);
    self.compute(3'000'000);  // 1 ms at 3 GHz before answering
    self.write(fds[1], std::string_view("hello through a pipe"));
    self.waitpid(child, &child_status);
    return 0;
  });
  engine.run();  // until init has reaped everything and powered off

  std::printf("%s", machine.console().output().c_str());
  std::printf("child exited with %d at %.3f ms simulated\n", sys::exit_code(child_status),
              static_cast<double>(engine.now()) / static_cast<double>(sim::kMillisecond));
  return received == "hello through a pipe" && sys::exit_code(child_status) == 7 ? 0 : 1;
}
