// Runs the built precis-cli (PRECIS_CLI_PATH, a compile definition of the suites that include this)
// in a child process, for the CLI test suites: one copy of the start / wait / kill-on-timeout logic.
#pragma once
#include <QByteArray>
#include <QProcess>
#include <QProcessEnvironment>
#include <QStringList>

namespace precis::test {

struct CliProcessResult {
  int code = -1;  // exit code; -2 when it crashed; -1 (err "timed out") when killed after timeout_ms
  QByteArray out, err;
};

inline CliProcessResult runCliProcess(const QStringList& args,
                                      const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment(),
                                      int timeout_ms = 300000) {
  QProcess p;
  p.setProcessEnvironment(env);
  p.start(QStringLiteral(PRECIS_CLI_PATH), args);
  CliProcessResult r;
  if (!p.waitForFinished(timeout_ms)) {
    p.kill();
    p.waitForFinished();
    r.err = "timed out";
    return r;
  }
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
  r.out = p.readAllStandardOutput();
  r.err = p.readAllStandardError();
  return r;
}

}  // namespace precis::test
