// Plan / override files (engine/quant/quant_plan.h): a scheme with overrides written and read back
// gives the same rules and base settings; a hand-written override file (no "scheme") still reads;
// applying a plan fills the flags' defaults, keeps the flags' own --override rules after the
// plan's, and refuses flags that contradict it; bad entries are errors naming the file and entry.
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>

#include "engine/quant/quant_plan.h"

using namespace precis;

namespace {
void writeText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}
}  // namespace

class TestQuantPlan : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;

 private slots:
  void roundTrip() {
    QuantScheme s;
    s.weights = *parseGranularity("group:64", WeightFormat::Nf4);
    s.calibration = *parseCalibration("percentile:99.5");
    s.include_embeddings = true;
    s.overrides = {*parseOverride("blk.0.attn_q.weight=int8@channel"),
                   *parseOverride("output.weight=keep"), *parseOverride("blk.1.*=q4_0")};
    const std::string path = dir_.filePath("p.json").toStdString();
    QVERIFY(writeQuantPlan(path, s, {{"mixed", {{"budget", 4.5}}}}).ok());
    Result<QuantPlan> p = loadQuantPlan(path);
    QVERIFY2(p.ok(), p.ok() ? "" : p.error().message.c_str());
    QVERIFY(p->weights.has_value());
    QCOMPARE(weightSpecName(*p->weights), std::string("nf4 group:64"));
    QCOMPARE(calibrationName(*p->calibration), std::string("percentile:99.5"));
    QCOMPARE(*p->include_embeddings, true);
    QCOMPARE(p->overrides.size(), size_t(3));
    QCOMPARE(p->overrides[0].pattern, std::string("blk.0.attn_q.weight"));
    QCOMPARE(weightSpecName(p->overrides[0].spec), std::string("int8 channel"));
    QVERIFY(p->overrides[1].keep);
    QCOMPARE(weightSpecName(p->overrides[2].spec), std::string("q4_0"));
    // The override file reader reads the same file.
    Result<std::vector<OverrideRule>> rules = loadOverrideFile(path);
    QVERIFY(rules.ok());
    QCOMPARE(rules->size(), size_t(3));
  }

  void applyFillsDefaultsAndRefusesContradictions() {
    const std::string path = dir_.filePath("a.json").toStdString();
    writeText(path,
              R"({"scheme": {"weights": "int4", "granularity": "group:32", "calibration": "mse"},
                        "overrides": [{"pattern": "blk.0.*", "format": "int8"}]})");
    Result<QuantPlan> p = loadQuantPlan(path);
    QVERIFY(p.ok());
    QuantScheme flags;  // as schemeFromArgs builds it with no --weights: the command's default
    flags.weights = *parseGranularity("channel", WeightFormat::Q8_0);
    flags.overrides = {*parseOverride("blk.1.*=keep")};
    QuantScheme s = flags;
    QVERIFY(applyQuantPlan(*p, ExplicitFlags{}, s).ok());
    QCOMPARE(weightSpecName(s.weights), std::string("int4 group:32"));
    QCOMPARE(calibrationName(s.calibration), std::string("mse"));
    QCOMPARE(s.overrides.size(), size_t(2));
    QCOMPARE(s.overrides[0].pattern, std::string("blk.0.*"));  // the plan's rules first
    QCOMPARE(s.overrides[1].pattern, std::string("blk.1.*"));
    // The same values given explicitly are fine; different ones are refused.
    QuantScheme same = flags;
    same.weights = *parseGranularity("group:32", WeightFormat::Int4);
    QVERIFY(applyQuantPlan(*p, ExplicitFlags{true, true, false, false}, same).ok());
    QuantScheme other = flags;
    other.weights = *parseGranularity("channel", WeightFormat::Int4);
    Status st = applyQuantPlan(*p, ExplicitFlags{false, true, false, false}, other);
    QVERIFY(!st.ok());
    QVERIFY2(st.error().message.find("int4 group:32") != std::string::npos,
             st.error().message.c_str());
    QuantScheme cal = flags;
    cal.calibration = *parseCalibration("max");
    QVERIFY(!applyQuantPlan(*p, ExplicitFlags{false, false, true, false}, cal).ok());
  }

  void overrideFileWithoutScheme() {
    const std::string path = dir_.filePath("o.json").toStdString();
    writeText(
        path,
        R"({"overrides": [{"pattern": "blk.*.ffn_down.weight", "format": "int8", "granularity": "group:64"}]})");
    Result<QuantPlan> p = loadQuantPlan(path);
    QVERIFY(p.ok());
    QVERIFY(!p->weights && !p->calibration && !p->include_embeddings);
    QuantScheme s;
    s.weights = *parseGranularity("tensor", WeightFormat::Int4);
    QVERIFY(applyQuantPlan(*p, ExplicitFlags{true, true, true, true}, s).ok());
    QCOMPARE(weightSpecName(s.weights), std::string("int4 tensor"));
    QCOMPARE(weightSpecName(s.overrides.at(0).spec), std::string("int8 group:64"));
  }

  void errorsNameTheEntry_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("expect");
    QTest::addRow("not json") << "{"
                              << "not valid JSON";
    QTest::addRow("no overrides") << R"({"scheme": {}})"
                                  << "\"overrides\" array";
    QTest::addRow("bad format") << R"({"overrides": [{"pattern": "x", "format": "int3"}]})"
                                << "overrides[0]";
    QTest::addRow("no pattern") << R"({"overrides": [{"format": "int8"}]})"
                                << "overrides[0]: needs a string \"pattern\"";
    QTest::addRow("bad group")
        << R"({"overrides": [], "scheme": {"weights": "int4", "granularity": "group:48"}})"
        << "scheme";
    QTest::addRow("bad calibration") << R"({"overrides": [], "scheme": {"calibration": "best"}})"
                                     << "scheme";
    QTest::addRow("embeddings not bool")
        << R"({"overrides": [], "scheme": {"quantize_embeddings": "yes"}})"
        << "true or false";
  }
  void errorsNameTheEntry() {
    QFETCH(QString, text);
    QFETCH(QString, expect);
    const std::string path = dir_.filePath("e.json").toStdString();
    writeText(path, text.toStdString());
    Result<QuantPlan> p = loadQuantPlan(path);
    QVERIFY(!p.ok());
    QVERIFY2(p.error().message.find("e.json") != std::string::npos, p.error().message.c_str());
    QVERIFY2(p.error().message.find(expect.toStdString()) != std::string::npos,
             p.error().message.c_str());
    QVERIFY(!loadQuantPlan(dir_.filePath("missing.json").toStdString()).ok());
  }
};

QTEST_GUILESS_MAIN(TestQuantPlan)
#include "test_quant_plan.moc"
