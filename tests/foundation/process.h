// Starting, killing and waiting for child processes in crash tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace bo::testing {

// Starts `path` with `args`, stdout and stderr appended to `log_file`. Returns the pid.
pid_t Spawn(const std::string& path, const std::vector<std::string>& args,
            const std::string& log_file);
// SIGKILL and reap.
void KillHard(pid_t pid);
// Waits up to `limit` for the process to exit; its exit code, or -1 if it did not exit (it is
// then killed) or died by a signal.
int WaitExit(pid_t pid, std::chrono::seconds limit);

}  // namespace bo::testing
