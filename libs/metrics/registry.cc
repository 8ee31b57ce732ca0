#include "libs/metrics/registry.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <variant>

namespace bo::metrics {

namespace {

// Lock-free add for atomic<double> (fetch_add on double is C++20 but not everywhere lock-free).
void AtomicAdd(std::atomic<double>* a, double by) {
  double current = a->load(std::memory_order_relaxed);
  while (!a->compare_exchange_weak(current, current + by, std::memory_order_relaxed)) {
  }
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  // The shortest text that reads back as the same double ("0.1", not "0.10000000000000001").
  char buf[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// `{a="1",b="2"}` (with `extra` appended, e.g. le="0.5"), or "" without labels.
std::string LabelText(const std::vector<std::string>& names, const LabelValues& values,
                      const std::string& extra = "") {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + EscapeLabelValue(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "{" : ",") + extra;
  if (!out.empty()) out += "}";
  return out;
}

// The text format escapes backslash and newline in HELP, and also the double quote in label values.
std::string Escape(std::string_view text, bool quote) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

void Header(std::string* out, std::string_view name, std::string_view help, const char* type) {
  *out += "# HELP " + std::string(name) + " " + Escape(help, /*quote=*/false) + "\n";
  *out += "# TYPE " + std::string(name) + " " + type + "\n";
}

// Renders collector samples, opening a new family whenever the name changes.
class TextSink : public Sink {
 public:
  explicit TextSink(std::string* out) : out_(out) {}
  void Gauge(std::string_view name, std::string_view help,
             const std::vector<std::string>& label_names, const LabelValues& values,
             double value) override {
    Sample(name, help, "gauge", label_names, values, value);
  }
  void Counter(std::string_view name, std::string_view help,
               const std::vector<std::string>& label_names, const LabelValues& values,
               double value) override {
    Sample(name, help, "counter", label_names, values, value);
  }

 private:
  void Sample(std::string_view name, std::string_view help, const char* type,
              const std::vector<std::string>& label_names, const LabelValues& values,
              double value) {
    if (name != current_) {
      Header(out_, name, help, type);
      current_ = name;
    }
    *out_ += std::string(name) + LabelText(label_names, values) + " " + FormatValue(value) + "\n";
  }
  std::string* out_;
  std::string current_;
};

}  // namespace

void Counter::Increment(double by) {
  if (by > 0) AtomicAdd(&value_, by);
}

void Gauge::Add(double by) { AtomicAdd(&value_, by); }

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(&sum_, v);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

template <typename Metric>
Metric& Family<Metric>::WithLabels(const LabelValues& values) {
  std::lock_guard lock(mu_);
  auto& slot = metrics_[values];
  if (!slot) slot = factory_();
  return *slot;
}

template <typename Metric>
void Family<Metric>::ForEach(
    const std::function<void(const LabelValues&, const Metric&)>& visit) const {
  std::lock_guard lock(mu_);
  for (const auto& [labels, metric] : metrics_) visit(labels, *metric);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct Registry::Families {
  std::mutex mu;
  // Families in the order added; each kept behind a unique_ptr so references stay valid.
  std::vector<std::variant<std::unique_ptr<Family<Counter>>, std::unique_ptr<Family<Gauge>>,
                           std::unique_ptr<Family<Histogram>>>>
      all;
  std::map<std::string, size_t> by_name;
  std::vector<Collector> collectors;

  template <typename Metric>
  Family<Metric>& Add(const std::string& name, const std::string& help,
                      std::vector<std::string> label_names,
                      typename Family<Metric>::Factory factory) {
    std::lock_guard lock(mu);
    if (auto it = by_name.find(name); it != by_name.end()) {
      if (auto* f = std::get_if<std::unique_ptr<Family<Metric>>>(&all[it->second])) return **f;
    }
    auto family =
        std::make_unique<Family<Metric>>(name, help, std::move(label_names), std::move(factory));
    Family<Metric>& ref = *family;
    by_name[name] = all.size();
    all.emplace_back(std::move(family));
    return ref;
  }
};

Registry::Registry() : families_(std::make_unique<Families>()) {}
Registry::~Registry() = default;

Family<Counter>& Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  return families_->Add<Counter>(name, help, std::move(label_names),
                                 [] { return std::make_unique<Counter>(); });
}

Family<Gauge>& Registry::AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  return families_->Add<Gauge>(name, help, std::move(label_names),
                               [] { return std::make_unique<Gauge>(); });
}

Family<Histogram>& Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> upper_bounds) {
  return families_->Add<Histogram>(name, help, std::move(label_names), [upper_bounds] {
    return std::make_unique<Histogram>(upper_bounds);
  });
}

void Registry::AddCollector(Collector collector) {
  std::lock_guard lock(families_->mu);
  families_->collectors.push_back(std::move(collector));
}

std::string Registry::Render() const {
  std::string out;
  std::vector<Collector> collectors;
  {
    std::lock_guard lock(families_->mu);
    for (const auto& entry : families_->all) {
      if (const auto* c = std::get_if<std::unique_ptr<Family<Counter>>>(&entry)) {
        const auto& f = **c;
        Header(&out, f.name(), f.help(), "counter");
        f.ForEach([&](const LabelValues& labels, const Counter& m) {
          out +=
              f.name() + LabelText(f.label_names(), labels) + " " + FormatValue(m.value()) + "\n";
        });
      } else if (const auto* g = std::get_if<std::unique_ptr<Family<Gauge>>>(&entry)) {
        const auto& f = **g;
        Header(&out, f.name(), f.help(), "gauge");
        f.ForEach([&](const LabelValues& labels, const Gauge& m) {
          out +=
              f.name() + LabelText(f.label_names(), labels) + " " + FormatValue(m.value()) + "\n";
        });
      } else {
        const auto& f = *std::get<std::unique_ptr<Family<Histogram>>>(entry);
        Header(&out, f.name(), f.help(), "histogram");
        f.ForEach([&](const LabelValues& labels, const Histogram& h) {
          const auto counts = h.CumulativeCounts();
          for (size_t i = 0; i < counts.size(); ++i) {
            const std::string le =
                i < h.upper_bounds().size() ? FormatValue(h.upper_bounds()[i]) : "+Inf";
            out += f.name() + "_bucket" + LabelText(f.label_names(), labels, "le=\"" + le + "\"") +
                   " " + FormatValue(static_cast<double>(counts[i])) + "\n";
          }
          out += f.name() + "_sum" + LabelText(f.label_names(), labels) + " " +
                 FormatValue(h.sum()) + "\n";
          out += f.name() + "_count" + LabelText(f.label_names(), labels) + " " +
                 FormatValue(static_cast<double>(counts.back())) + "\n";
        });
      }
    }
    collectors = families_->collectors;
  }
  TextSink sink(&out);
  for (const auto& collect : collectors) collect(sink);
  return out;
}

std::string EscapeLabelValue(std::string_view v) { return Escape(v, /*quote=*/true); }

void AddProcessCollector(Registry* registry) {
  registry->AddCollector([](Sink& out) {
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    std::ifstream stat_file("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    // Fields after the command name, which is in parentheses and may contain spaces.
    const size_t close = stat.rfind(')');
    if (close != std::string::npos) {
      std::istringstream fields(stat.substr(close + 2));
      std::vector<std::string> f;
      for (std::string s; fields >> s;) f.push_back(s);
      // man 5 proc: utime(14) stime(15) starttime(22) rss(24); f[0] is field 3 (state).
      if (f.size() > 21) {
        const double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
        out.Counter("process_cpu_seconds_total", "User and system CPU time spent in seconds.", {},
                    {}, cpu);
        out.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", {}, {},
                  std::stod(f[21]) * page);
        std::ifstream uptime_file("/proc/stat");
        double boot = 0;
        for (std::string line; std::getline(uptime_file, line);) {
          if (line.rfind("btime ", 0) == 0) boot = std::stod(line.substr(6));
        }
        out.Gauge("process_start_time_seconds",
                  "Start time of the process since unix epoch in seconds.", {}, {},
                  boot + std::stod(f[19]) / ticks);
      }
    }
    std::error_code ec;
    double fds = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++fds;
    }
    out.Gauge("process_open_fds", "Number of open file descriptors.", {}, {}, fds);
  });
}

}  // namespace bo::metrics
