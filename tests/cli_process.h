// Runs the built precis-cli (PRECIS_CLI_PATH, a compile definition of the suites that include this)
// in a child process, for the CLI test suites: one copy of the start / wait / kill-on-timeout logic.
#pragma once
#include <QByteArray>
#include <QProcess>
#include <QProcessEnvironment>
#include <QStringList>
#include <QString>
#include <string>
#include <type_traits>

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

// A run's exit code and output in the type a suite compares with: QString (decoded as UTF-8) or
// std::string (the bytes). Suites that keep the bytes use CliProcessResult itself.
template <typename Text>
struct CliOutput {
  int code = -1;
  Text out, err;
};

template <typename Text>
CliOutput<Text> cliOutput(const CliProcessResult& p) {
  if constexpr (std::is_same_v<Text, QString>)
    return {p.code, QString::fromUtf8(p.out), QString::fromUtf8(p.err)};
  else
    return {p.code, p.out.toStdString(), p.err.toStdString()};
}

}  // namespace precis::test
