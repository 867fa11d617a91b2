// File: tests/fuzz/standalone_main.cc
// The driver that replaces libFuzzer in builds without ITMO_FUZZ (GCC CI). It runs
// LLVMFuzzerTestOneInput on every file named on the command line (directories are read, files in
// name order), then on `--runs` deterministic pseudo-random mutations of those seeds (splitmix64
// seeded by `--seed`). The same arguments always produce the same inputs in the same order.
//
// Usage: fuzz_x [--runs=N] [--seed=S] [--max_len=L] [--max_seconds=T] PATH...
//   --max_seconds stops the mutation phase early (a guard for loaded CI machines; it prints how
//   many runs were done). A crash (abort, CHECK failure, segfault) writes the input that caused it
//   to ./crash-<target>-<run> (async-signal-safe) and re-raises the signal; pass that file back as
//   the only PATH to reproduce it.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr size_t kSeedsMax = 100'000;
constexpr size_t kSeedBytesMax = 1 << 20;
constexpr uint64_t kRunsMax = 100'000'000;
constexpr int kMutationsPerInputMax = 8;

// The input being executed, for the crash handler (which may only use async-signal-safe calls).
const uint8_t* g_current_data = nullptr;
size_t g_current_size = 0;
char g_crash_path[256] = {};

void OnCrash(int signal_number) {
  const int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    size_t done = 0;
    while (g_current_data != nullptr && done < g_current_size) {
      const ssize_t n = ::write(fd, g_current_data + done, g_current_size - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fd);
  }
  static const char kMessage[] = "\nfuzz driver: crashing input written to ";
  (void)!::write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
  (void)!::write(STDERR_FILENO, g_crash_path, std::strlen(g_crash_path));
  (void)!::write(STDERR_FILENO, "\n", 1);
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

// splitmix64: tiny, fast and fully determined by its seed.
class Prng {
 public:
  explicit Prng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, bound); bound > 0.
  size_t Below(size_t bound) { return static_cast<size_t>(Next() % bound); }

 private:
  uint64_t state_;
};

struct Options {
  uint64_t runs = 1000;
  uint64_t seed = 1;
  size_t max_len = 64 * 1024;
  double max_seconds = 0;  // 0: no limit.
  std::vector<std::string> paths;
};

bool ParseFlag(const std::string& arg, const char* name, std::string* value) {
  const std::string prefix = std::string("--") + name + "=";
  if (arg.rfind(prefix, 0) != 0) return false;
  *value = arg.substr(prefix.size());
  return true;
}

bool ParseArgs(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    std::string value;
    if (ParseFlag(arg, "runs", &value)) {
      options->runs = std::min<uint64_t>(std::strtoull(value.c_str(), nullptr, 10), kRunsMax);
    } else if (ParseFlag(arg, "seed", &value)) {
      options->seed = std::strtoull(value.c_str(), nullptr, 10);
    } else if (ParseFlag(arg, "max_len", &value)) {
      options->max_len =
          std::clamp<size_t>(std::strtoull(value.c_str(), nullptr, 10), 1, kSeedBytesMax);
    } else if (ParseFlag(arg, "max_seconds", &value)) {
      options->max_seconds = std::strtod(value.c_str(), nullptr);
    } else if (arg.rfind("--", 0) == 0 || arg.rfind("-", 0) == 0) {
      std::fprintf(stderr, "unknown flag %s\n", arg.c_str());
      return false;
    } else {
      options->paths.push_back(arg);
    }
  }
  return true;
}

bool ReadFile(const std::filesystem::path& path, std::vector<uint8_t>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (out->size() > kSeedBytesMax) out->resize(kSeedBytesMax);
  return true;
}

// Every regular file under the paths, directories in name order. Returns false on a missing path.
bool LoadSeeds(const std::vector<std::string>& paths, std::vector<std::vector<uint8_t>>* seeds) {
  for (const std::string& p : paths) {
    std::vector<std::filesystem::path> files;
    std::error_code error;
    if (std::filesystem::is_directory(p, error)) {
      for (const auto& entry : std::filesystem::directory_iterator(p, error)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
    } else if (std::filesystem::is_regular_file(p, error)) {
      files.push_back(p);
    } else {
      std::fprintf(stderr, "no such file or directory: %s\n", p.c_str());
      return false;
    }
    for (const auto& file : files) {
      if (seeds->size() >= kSeedsMax) return true;
      std::vector<uint8_t> bytes;
      if (!ReadFile(file, &bytes)) {
        std::fprintf(stderr, "cannot read %s\n", file.c_str());
        return false;
      }
      seeds->push_back(std::move(bytes));
    }
  }
  return true;
}

// One libFuzzer-style byte mutation of `data`, using `seeds` for splicing.
void MutateOnce(Prng& prng, const std::vector<std::vector<uint8_t>>& seeds, size_t max_len,
                std::vector<uint8_t>* data) {
  static constexpr uint8_t kInteresting[] = {0x00, 0x01, 0x02, 0x07, 0x08, 0x10, 0x20,
                                             0x3f, 0x40, 0x7f, 0x80, 0x81, 0xfe, 0xff};
  std::vector<uint8_t>& d = *data;
  // In-place changes are weighted up: they keep protobuf lengths intact, so most mutated inputs
  // still parse and reach the code behind the parser.
  const size_t op = d.empty() ? 12 : prng.Below(16);
  if (op < 4) {  // Flip one bit.
    d[prng.Below(d.size())] ^= static_cast<uint8_t>(1u << prng.Below(8));
  } else if (op < 7) {  // Overwrite one byte.
    d[prng.Below(d.size())] = static_cast<uint8_t>(prng.Next());
  } else if (op < 10) {  // An interesting value (protobuf tags, varint continuation bits).
    d[prng.Below(d.size())] = kInteresting[prng.Below(sizeof(kInteresting))];
  } else if (op < 12) {  // Add or subtract a small number (lengths, rounds, heights).
    uint8_t& byte = d[prng.Below(d.size())];
    byte = static_cast<uint8_t>(byte + static_cast<uint8_t>(prng.Below(7)) - 3);
  } else if (op == 12) {  // Insert a random byte.
    d.insert(d.begin() + static_cast<std::ptrdiff_t>(prng.Below(d.size() + 1)),
             static_cast<uint8_t>(prng.Next()));
  } else if (op == 13) {  // Erase a range.
    const size_t from = prng.Below(d.size());
    const size_t len = 1 + prng.Below(std::min<size_t>(d.size() - from, 16));
    d.erase(d.begin() + static_cast<std::ptrdiff_t>(from),
            d.begin() + static_cast<std::ptrdiff_t>(from + len));
  } else if (op == 14) {  // Splice: a piece of a random seed (or of this input) at a random place.
    const std::vector<uint8_t>& other = seeds.empty() ? d : seeds[prng.Below(seeds.size())];
    if (!other.empty()) {
      const size_t from = prng.Below(other.size());
      const size_t len = 1 + prng.Below(std::min<size_t>(other.size() - from, 64));
      std::vector<uint8_t> piece(other.begin() + static_cast<std::ptrdiff_t>(from),
                                 other.begin() + static_cast<std::ptrdiff_t>(from + len));
      d.insert(d.begin() + static_cast<std::ptrdiff_t>(prng.Below(d.size() + 1)), piece.begin(),
               piece.end());
    }
  } else {  // Truncate.
    d.resize(prng.Below(d.size()));
  }
  if (d.size() > max_len) d.resize(max_len);
}

void RunOne(const std::vector<uint8_t>& input) {
  g_current_data = input.data();
  g_current_size = input.size();
  LLVMFuzzerTestOneInput(input.data(), input.size());
  g_current_data = nullptr;
  g_current_size = 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseArgs(argc, argv, &options)) return 2;
  const std::string name = std::filesystem::path(argv[0]).filename().string();
  std::snprintf(g_crash_path, sizeof(g_crash_path), "crash-%s-seeds", name.c_str());
  for (int s : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) ::signal(s, OnCrash);

  std::vector<std::vector<uint8_t>> seeds;
  if (!LoadSeeds(options.paths, &seeds)) return 2;
  const auto start = std::chrono::steady_clock::now();
  RunOne({});  // The empty input, like libFuzzer.
  for (const std::vector<uint8_t>& seed : seeds) RunOne(seed);
  std::printf("%s: %zu seed inputs OK\n", name.c_str(), seeds.size());

  Prng prng(options.seed);
  uint64_t done = 0;
  std::vector<uint8_t> input;
  for (; done < options.runs; ++done) {
    if (options.max_seconds > 0 && (done & 63) == 0) {
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
      if (elapsed.count() > options.max_seconds) {
        std::printf("%s: time limit of %.0f s reached\n", name.c_str(), options.max_seconds);
        break;
      }
    }
    if (seeds.empty()) {
      input.clear();
    } else {
      input = seeds[prng.Below(seeds.size())];
    }
    // Mostly one mutation (small steps from valid seeds go deepest), sometimes a burst.
    const int mutations =
        prng.Below(4) != 0 ? 1 : 1 + static_cast<int>(prng.Below(kMutationsPerInputMax));
    for (int m = 0; m < mutations; ++m) MutateOnce(prng, seeds, options.max_len, &input);
    std::snprintf(g_crash_path, sizeof(g_crash_path), "crash-%s-run%llu", name.c_str(),
                  static_cast<unsigned long long>(done));
    RunOne(input);
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  std::printf("%s: %llu mutated inputs OK (seed %llu) in %.1f s\n", name.c_str(),
              static_cast<unsigned long long>(done), static_cast<unsigned long long>(options.seed),
              elapsed.count());
  return 0;
}
