// Tests of libs/store: a Database and its EventStore in a fresh temporary directory per test,
// removed afterwards.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "libs/store/database.h"
#include "libs/store/event_store.h"

namespace bo {

class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bo_store_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Closes and opens the database again (what is left is what reached the disk).
  void Reopen() {
    store_.reset();
    db_.reset();
    auto db = Database::Open(dir_.string());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto store = EventStore::Open(db_.get());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<EventStore> store_;
};

}  // namespace bo
