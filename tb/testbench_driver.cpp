// Thin driver of the tile's HDL-side harness (hdl/tile_testbench.py), built by Verilator
// with the harness as top module (prefix Vharness); tb/fast_tile.py writes its job and reads
// what it writes. No checking here: Python compares everything.
//
//   driver JOB OUT
//
// JOB lines (numbers decimal, beats hexadecimal, most significant digit first):
//   counts OP STATIONARY MOVING RESULT     beats each stream moves
//   stall STREAM SEED THRESHOLD            stream 0..3 (op, stationary, moving, result)
//   hold CYCLE                             block every handshake in that cycle (repeatable)
//   reset_at CYCLE                         once, on reaching it: reset and start again
//   budget CYCLES                          give up after that many cycles of one start
//   load TARGET ADDRESS HEX                a beat of input stream TARGET (0..2)
// OUT lines:
//   done 0|1, cycles N, run_seconds S and run_cpu_seconds S (wall-clock and this process's CPU
//   time of the clocked run alone, loading and read-back excluded; CPU time is what to compare
//   on a loaded machine),
//   trace STREAM N c0 c1 ... (cycle of each of the stream's N beats),
//   result N, then N lines of hexadecimal result beats.

#include <chrono>
#include <cstdint>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "Vharness.h"
#include "verilated.h"

namespace {

using Words = std::vector<uint32_t>;

Words parse_hex(const std::string& text) {
    Words words((text.size() + 7) / 8, 0);
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[text.size() - 1 - i];
        const uint32_t digit = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
        words[i / 8] |= digit << (4 * (i % 8));
    }
    return words;
}

template <typename T> void put(T& port, const Words& words) {
    uint64_t value = words.empty() ? 0 : words[0];
    if (sizeof(T) > 4 && words.size() > 1) value |= uint64_t(words[1]) << 32;
    port = static_cast<T>(value);
}

template <std::size_t N> void put(VlWide<N>& port, const Words& words) {
    for (std::size_t i = 0; i < N; ++i) port[i] = i < words.size() ? words[i] : 0;
}

template <typename T> std::string hex(const T& port) {
    char text[20];
    std::snprintf(text, sizeof text, "%llx", static_cast<unsigned long long>(port));
    return text;
}

template <std::size_t N> std::string hex(const VlWide<N>& port) {
    std::string text;
    char word[9];
    for (std::size_t i = N; i-- > 0;) {
        std::snprintf(word, sizeof word, "%08x", port[i]);
        text += word;
    }
    return text;
}

template <typename T> uint32_t low_word(const T& port) { return static_cast<uint32_t>(port); }

template <std::size_t N> uint32_t low_word(const VlWide<N>& port) { return port[0]; }

class Harness {
  public:
    explicit Harness(VerilatedContext* context) : top_(new Vharness{context}) {}
    ~Harness() { top_->final(); }

    void load(unsigned target, unsigned address, const Words& beat) {
        top_->load_valid = 1;
        top_->load_target = target;
        top_->load_addr = address;
        put(top_->load_data, beat);
        top_->load_clk = 0;
        top_->eval();
        top_->load_clk = 1;
        top_->eval();
        top_->load_valid = 0;
    }

    void tick() {
        top_->clk = 0;
        top_->eval();
        top_->clk = 1;
        top_->eval();
    }

    // Reset for three cycles with go low, then one idle cycle: as the cocotb harness does.
    void restart() {
        top_->go = 0;
        top_->rst = 1;
        for (int i = 0; i < 3; ++i) tick();
        top_->rst = 0;
        tick();
    }

    Vharness& top() { return *top_; }

  private:
    std::unique_ptr<Vharness> top_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: " << argv[0] << " JOB OUT\n";
        return 2;
    }
    auto context = std::make_unique<VerilatedContext>();
    Harness harness(context.get());
    Vharness& top = harness.top();
    std::ifstream job(argv[1]);
    if (!job) {
        std::cerr << "error: cannot read the job " << argv[1] << "\n";
        return 2;
    }
    uint32_t counts[4] = {0, 0, 0, 0};
    std::set<uint64_t> holds;
    uint64_t reset_at = 0, budget = 0;
    bool reset_pending = false;
    std::string line;
    while (std::getline(job, line)) {
        std::istringstream fields(line);
        std::string kind;
        fields >> kind;
        if (kind == "counts") {
            fields >> counts[0] >> counts[1] >> counts[2] >> counts[3];
        } else if (kind == "stall") {
            unsigned stream;
            uint32_t seed, threshold;
            fields >> stream >> seed >> threshold;
            uint32_t* seeds[] = {&top.op_seed, &top.stationary_seed, &top.moving_seed,
                                 &top.result_seed};
            seeds[stream][0] = seed;
            if (stream == 0) top.op_threshold = threshold;
            if (stream == 1) top.stationary_threshold = threshold;
            if (stream == 2) top.moving_threshold = threshold;
            if (stream == 3) top.result_threshold = threshold;
        } else if (kind == "hold") {
            uint64_t cycle;
            fields >> cycle;
            holds.insert(cycle);
        } else if (kind == "reset_at") {
            fields >> reset_at;
            reset_pending = true;
        } else if (kind == "budget") {
            fields >> budget;
        } else if (kind == "load") {
            unsigned target, address;
            std::string beat;
            fields >> target >> address >> beat;
            harness.load(target, address, parse_hex(beat));
        } else if (!kind.empty()) {
            std::cerr << "error: unknown job line '" << line << "'\n";
            return 2;
        }
    }
    top.op_count = counts[0];
    top.stationary_count = counts[1];
    top.moving_count = counts[2];
    top.result_count = counts[3];
    const auto start = std::chrono::steady_clock::now();
    const std::clock_t cpu_start = std::clock();
    harness.restart();
    uint64_t cycle = 0;
    top.go = 1;
    top.eval();
    while (!top.done && cycle < budget) {
        if (reset_pending && cycle == reset_at) {
            reset_pending = false;
            harness.restart();
            cycle = 0;
            top.go = 1;
            top.eval();
            continue;
        }
        top.hold = holds.count(cycle) ? 1 : 0;
        harness.tick();
        ++cycle;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu_seconds = double(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    std::ofstream out(argv[2]);
    out << "done " << int(top.done) << "\ncycles " << cycle << "\nrun_seconds " << seconds
        << "\nrun_cpu_seconds " << cpu_seconds << "\n";
    top.go = 0;
    for (unsigned stream = 0; stream < 4; ++stream) {
        out << "trace " << stream << " " << counts[stream];
        top.read_target = stream;
        for (uint32_t beat = 0; beat < counts[stream]; ++beat) {
            top.read_addr = beat;
            top.eval();
            out << " " << low_word(top.read_data);
        }
        out << "\n";
    }
    out << "result " << counts[3] << "\n";
    top.read_target = 4;
    for (uint32_t beat = 0; beat < counts[3]; ++beat) {
        top.read_addr = beat;
        top.eval();
        out << hex(top.read_data) << "\n";
    }
    return out ? 0 : 1;
}
