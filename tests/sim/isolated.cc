#include "tests/sim/isolated.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include "base/check.h"

namespace itmo::sim {
namespace {

constexpr uint32_t kStringBytesMax = 4096;

struct Fixed {
  uint64_t ok, safety_violation, rounds, height, steps, messages, virtual_ms, validators;
};

}  // namespace

IsolatedResult FromSimResult(const SimResult& result) {
  IsolatedResult out;
  out.ok = result.ok;
  out.safety_violation = result.safety_violation;
  out.rounds = result.rounds;
  out.height = result.height;
  out.steps = result.steps;
  out.messages = result.messages;
  out.virtual_ms = result.virtual_ms;
  out.validators = result.plan.validators;
  out.reason = result.reason;
  out.plan = result.plan.Describe();
  out.digest = result.digest;
  return out;
}

namespace {

void WriteAll(int fd, const void* data, size_t size) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = write(fd, bytes, size);
    if (n <= 0) return;
    bytes += n;
    size -= static_cast<size_t>(n);
  }
}

bool ReadAll(int fd, void* data, size_t size) {
  char* bytes = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = read(fd, bytes, size);
    if (n <= 0) return false;
    bytes += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

void WriteString(int fd, const std::string& s) {
  const uint32_t size = static_cast<uint32_t>(std::min<size_t>(s.size(), kStringBytesMax));
  WriteAll(fd, &size, sizeof(size));
  WriteAll(fd, s.data(), size);
}

bool ReadString(int fd, std::string* s) {
  uint32_t size = 0;
  if (!ReadAll(fd, &size, sizeof(size)) || size > kStringBytesMax) return false;
  s->resize(size);
  return ReadAll(fd, s->data(), size);
}

}  // namespace

IsolatedResult RunIsolated(const std::function<SimResult()>& run) {
  int fds[2];
  std::cout.flush();
  std::cerr.flush();
  if (pipe(fds) != 0) return FromSimResult(run());
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return FromSimResult(run());
  }
  if (pid == 0) {
    close(fds[0]);
    const IsolatedResult result = FromSimResult(run());
    const Fixed fixed{result.ok,    result.safety_violation, result.rounds,     result.height,
                      result.steps, result.messages,         result.virtual_ms, result.validators};
    WriteAll(fds[1], &fixed, sizeof(fixed));
    WriteString(fds[1], result.reason);
    WriteString(fds[1], result.plan);
    WriteString(fds[1], result.digest);
    std::cout.flush();
    _exit(0);
  }
  close(fds[1]);
  IsolatedResult result;
  Fixed fixed{};
  const bool complete = ReadAll(fds[0], &fixed, sizeof(fixed)) &&
                        ReadString(fds[0], &result.reason) && ReadString(fds[0], &result.plan) &&
                        ReadString(fds[0], &result.digest);
  close(fds[0]);
  int status = 0;
  ITMO_CHECK(waitpid(pid, &status, 0) == pid);
  if (!complete || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    result = IsolatedResult{};
    result.aborted = true;
    result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    result.reason = "aborted (a CHECK failure inside the run: its message is on stderr)";
    return result;
  }
  result.ok = fixed.ok != 0;
  result.safety_violation = fixed.safety_violation != 0;
  result.rounds = fixed.rounds;
  result.height = fixed.height;
  result.steps = fixed.steps;
  result.messages = fixed.messages;
  result.virtual_ms = fixed.virtual_ms;
  result.validators = static_cast<uint32_t>(fixed.validators);
  ITMO_CHECK(result.ok || !result.reason.empty());
  return result;
}

}  // namespace itmo::sim
