#pragma once

// A doctest listener for the namespace tests (one per test program): a
// failed check sets `netns_keep_logs`, so that `~netns_cluster` keeps the
// folder of the head's and the nodes' logs and says where it is.

#include "tests/netns_cluster.hpp"

#include <doctest/doctest.h>

namespace manta_test {

/// Marks a failed check so that the cluster keeps its logs.
struct keep_logs_on_failure : doctest::IReporter {
  explicit keep_logs_on_failure(const doctest::ContextOptions&) {}
  void log_assert(const doctest::AssertData& ad) override {
    if (ad.m_failed)
      netns_keep_logs = true;
  }
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

REGISTER_LISTENER("netns_keep_logs", 1, keep_logs_on_failure);

} // namespace manta_test
