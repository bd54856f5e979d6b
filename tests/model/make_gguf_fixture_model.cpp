// Writes tests/fixtures/gguf_tiny.gguf (the model of gguf_fixture_model.h) with our GGUF writer.
// Run after changing the writer or the fixture model, then rerun tests/fixtures/make_gguf_fixture.py:
//   build-x/tests/model/make_gguf_fixture_model tests/fixtures/gguf_tiny.gguf
// Test tooling only (not installed).
#include <cstdio>

#include "engine/model/gguf_writer.h"
#include "gguf_fixture_model.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT.gguf\n", argv[0]);
    return 2;
  }
  precis::Result<precis::Model> m = precis::test::ggufFixtureModel();
  if (!m) {
    std::fprintf(stderr, "%s\n", m.error().message.c_str());
    return 1;
  }
  if (precis::Status s = precis::writeGguf(*m, argv[1]); !s) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    return 1;
  }
  return 0;
}
