// Version and git commit of this build, for --version and the run envelope. The commit lives in one
// generated file (build_info.cpp.in -> <build>/generated/build_info.cpp), so a new commit recompiles
// that file alone instead of every source that used to see it as a compile definition.
// Tested through tests/log/test_envelope.cpp (the envelope's precis_version / git_commit keys).
#pragma once

namespace precis {

const char* precisVersion();    // PROJECT_VERSION, e.g. "0.1.0"
const char* precisGitCommit();  // `git rev-parse --short=12 HEAD` at configure time, or "unknown"

}  // namespace precis
