// Registry: the figures one process exposes on /metrics, in the Prometheus text exposition
// format (version 0.0.4), so Prometheus, Grafana and any scraper read them as they read any
// other service.
//
//   bo::metrics::Registry registry;
//   auto& handled = registry.AddCounter("grpc_server_handled_total", "RPCs completed.",
//                                       {"grpc_method", "grpc_code"});
//   handled.WithLabels({"GetStock", "OK"}).Increment();
//
//   auto& latency = registry.AddHistogram("grpc_server_handling_seconds", "RPC latency.",
//                                         {"grpc_method"}, bo::metrics::LatencyBuckets());
//   latency.WithLabels({"GetStock"}).Observe(0.0021);
//
//   // Figures that are cheaper to read when scraped than to keep up to date:
//   registry.AddCollector([&](bo::metrics::Sink& out) {
//     out.Gauge("bo_outbox_depth", "Events committed, not yet published.", {}, {}, depth());
//   });
//
//   std::string text = registry.Render();
//
// Counters, gauges and histograms are lock-free to update once their label set exists (a
// label set is created under a mutex on first use; keep the reference in hot paths). Render
// takes each family's mutex briefly; collectors run outside any lock of the registry.
// Nothing here knows about back orders.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace bo::metrics {

using LabelValues = std::vector<std::string>;

// A value only going up (events published, RPCs handled).
class Counter {
 public:
  void Increment(double by = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value going up and down (queue depth, bytes on disk).
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double by);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into cumulative buckets (upper bounds), with their sum and count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);

  const std::vector<double>& upper_bounds() const { return bounds_; }
  // Observations <= upper_bounds()[i] (cumulative), then the total count last (the +Inf bucket).
  std::vector<uint64_t> CumulativeCounts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative; last = +Inf
  std::atomic<double> sum_{0.0};
};

// Seconds, from 0.5 ms to 10 s: what an RPC or a pipeline step takes.
std::vector<double> LatencyBuckets();

// All the label sets of one metric name.
template <typename Metric>
class Family {
 public:
  using Factory = std::function<std::unique_ptr<Metric>()>;
  Family(std::string name, std::string help, std::vector<std::string> label_names, Factory factory)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        factory_(std::move(factory)) {}

  // The metric for these label values (one per label name, same order), created on first use.
  // The reference stays valid for the registry's lifetime.
  Metric& WithLabels(const LabelValues& values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Visits every label set under the family's mutex.
  void ForEach(const std::function<void(const LabelValues&, const Metric&)>& visit) const;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  Factory factory_;
  mutable std::mutex mu_;
  std::map<LabelValues, std::unique_ptr<Metric>> metrics_;
};

// Where a collector writes the figures it reads at scrape time. Samples of one name must come
// together (one call per sample is fine: consecutive calls with the same name form one family).
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void Gauge(std::string_view name, std::string_view help,
                     const std::vector<std::string>& label_names, const LabelValues& values,
                     double value) = 0;
  virtual void Counter(std::string_view name, std::string_view help,
                       const std::vector<std::string>& label_names, const LabelValues& values,
                       double value) = 0;
};

using Collector = std::function<void(Sink&)>;

class Registry {
 public:
  Registry();
  ~Registry();

  // Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*. Adding a
  // name twice returns the family added first (the help and labels given first stay).
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> upper_bounds);

  // Runs at every Render, after the families above, in the order added.
  void AddCollector(Collector collector);

  // The text exposition of every family and collector.
  std::string Render() const;

 private:
  struct Families;
  std::unique_ptr<Families> families_;
};

// Escapes a label value for the text format (backslash, double quote, newline).
std::string EscapeLabelValue(std::string_view v);

// Adds the standard process figures (process_resident_memory_bytes, process_cpu_seconds_total,
// process_open_fds, process_start_time_seconds), read from /proc at scrape time.
void AddProcessCollector(Registry* registry);

}  // namespace bo::metrics
