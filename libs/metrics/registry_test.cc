#include "libs/metrics/registry.h"

#include <thread>

#include "gtest/gtest.h"

namespace bo::metrics {
namespace {

TEST(Registry, RendersCountersAndGaugesWithLabels) {
  Registry r;
  auto& handled = r.AddCounter("rpc_total", "RPCs done.", {"method", "code"});
  handled.WithLabels({"Get", "OK"}).Increment();
  handled.WithLabels({"Get", "OK"}).Increment(2);
  handled.WithLabels({"Put", "NOT_FOUND"}).Increment();
  r.AddGauge("depth", "Queue depth.").WithLabels({}).Set(7);
  const std::string text = r.Render();
  EXPECT_NE(text.find("# HELP rpc_total RPCs done.\n# TYPE rpc_total counter\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("rpc_total{method=\"Get\",code=\"OK\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("rpc_total{method=\"Put\",code=\"NOT_FOUND\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE depth gauge\ndepth 7\n"), std::string::npos) << text;
}

TEST(Registry, CounterNeverGoesDown) {
  Counter c;
  c.Increment(5);
  c.Increment(-3);
  EXPECT_EQ(c.value(), 5);
}

TEST(Registry, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry r;
  auto& h = r.AddHistogram("latency_seconds", "Latency.", {"m"}, {0.1, 1});
  auto& m = h.WithLabels({"a"});
  m.Observe(0.05);
  m.Observe(0.1);  // on the bound: counts in le="0.1"
  m.Observe(0.5);
  m.Observe(3);
  const std::string text = r.Render();
  EXPECT_NE(text.find("latency_seconds_bucket{m=\"a\",le=\"0.1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("latency_seconds_bucket{m=\"a\",le=\"1\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{m=\"a\",le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_sum{m=\"a\"} 3.65\n"), std::string::npos) << text;
  EXPECT_NE(text.find("latency_seconds_count{m=\"a\"} 4\n"), std::string::npos);
}

TEST(Registry, LabelValuesAreEscaped) {
  Registry r;
  r.AddGauge("g", "G.", {"name"}).WithLabels({"a\"b\\c\nd"}).Set(1);
  EXPECT_NE(r.Render().find("g{name=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << r.Render();
}

TEST(Registry, AddingANameTwiceReturnsTheSameFamily) {
  Registry r;
  auto& a = r.AddCounter("c_total", "first");
  auto& b = r.AddCounter("c_total", "second");
  EXPECT_EQ(&a, &b);
  a.WithLabels({}).Increment();
  const std::string text = r.Render();
  EXPECT_EQ(text.find("second"), std::string::npos);
  EXPECT_EQ(text.find("# TYPE c_total"), text.rfind("# TYPE c_total"));
}

TEST(Registry, CollectorsRunAtRenderAndGroupSamplesByName) {
  Registry r;
  int scrapes = 0;
  r.AddCollector([&](Sink& out) {
    ++scrapes;
    out.Gauge("open", "Open.", {"branch"}, {"N"}, 2);
    out.Gauge("open", "Open.", {"branch"}, {"S"}, 3);
    out.Counter("lost_total", "Lost.", {}, {}, scrapes);
  });
  r.Render();
  const std::string text = r.Render();
  EXPECT_EQ(scrapes, 2);
  EXPECT_NE(text.find("# TYPE open gauge\nopen{branch=\"N\"} 2\nopen{branch=\"S\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE lost_total counter\nlost_total 2\n"), std::string::npos) << text;
}

TEST(Registry, ConcurrentIncrementsAreAllCounted) {
  Registry r;
  auto& c = r.AddCounter("n_total", "N.", {"t"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.WithLabels({"x"}).Increment();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.WithLabels({"x"}).value(), 40000);
}

TEST(Registry, ProcessCollectorReportsThisProcess) {
  Registry r;
  AddProcessCollector(&r);
  const std::string text = r.Render();
  for (const char* name : {"process_resident_memory_bytes ", "process_cpu_seconds_total ",
                           "process_open_fds ", "process_start_time_seconds "}) {
    EXPECT_NE(text.find(std::string("\n") + name), std::string::npos) << name << "\n" << text;
  }
}

}  // namespace
}  // namespace bo::metrics
