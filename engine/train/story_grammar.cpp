// The story grammar (see story_grammar.h). Weights are relative; each choice costs
// -log(weight / total) nats. A story: an opening sentence, 2-5 middle sentences chosen from
// templates (the count itself is a choice), and a closing sentence.
#include "engine/train/story_grammar.h"

#include <cmath>
#include <utility>

namespace precis {
namespace {

struct Choice {
  const char* text;
  double weight;
};
using List = std::vector<Choice>;

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t s_;
};

// Picks an index of `l` and adds its cost to nll.
size_t pick(const List& l, Rng& rng, double& nll) {
  double total = 0;
  for (const Choice& c : l) total += c.weight;
  double u = rng.uniform() * total;
  size_t i = 0;
  for (; i + 1 < l.size(); ++i) {
    if (u < l[i].weight) break;
    u -= l[i].weight;
  }
  nll -= std::log(l[i].weight / total);
  return i;
}

const List kNames{{"Lily", 5}, {"Tom", 5}, {"Mia", 4}, {"Ben", 4}, {"Sue", 3}, {"Max", 3}, {"Anna", 2}, {"Sam", 2}};
// Pronoun of each name (same order): deterministic, costs nothing.
const char* const kPronoun[] = {"She", "He", "She", "He", "She", "He", "She", "He"};
const List kAdjective{{"little", 6}, {"happy", 4}, {"brave", 3}, {"kind", 3}, {"shy", 2}, {"curious", 2}};
const List kAnimal{{"girl", 5}, {"boy", 5}, {"cat", 3}, {"dog", 3}, {"bunny", 2}, {"bird", 2}};
const List kPlace{{"park", 5}, {"garden", 4}, {"forest", 3}, {"house", 3}, {"river", 2}, {"school", 2}};
const List kThing{{"ball", 5}, {"box", 3}, {"toy", 4}, {"book", 3}, {"kite", 2}, {"flower", 3}, {"hat", 2}};
const List kColor{{"red", 4}, {"blue", 4}, {"big", 3}, {"small", 3}, {"shiny", 2}, {"green", 2}};
const List kFeeling{{"happy", 5}, {"sad", 3}, {"excited", 3}, {"scared", 2}, {"surprised", 2}};
const List kFriend{{"mom", 4}, {"dad", 4}, {"friend", 5}, {"sister", 2}, {"brother", 2}};
const List kVerb{{"play", 5}, {"run", 4}, {"jump", 3}, {"sing", 2}, {"read", 2}};
const List kMiddleCount{{"2", 3}, {"3", 4}, {"4", 2}, {"5", 1}};
// Middle sentence templates; each opens with a different word.
const List kTemplate{{"one day", 4}, {"then", 3}, {"pronoun liked", 3}, {"suddenly", 2}, {"later", 2}};
const List kEnding{{"The end.", 3}, {"They were friends forever.", 2}, {"It was a good day.", 3}};

std::string storyText(Rng& rng, double& nll) {
  const size_t name = pick(kNames, rng, nll);
  const std::string n = kNames[name].text, pro = kPronoun[name];
  std::string s = "Once upon a time, there was a ";
  s += kAdjective[pick(kAdjective, rng, nll)].text;
  s += " ";
  s += kAnimal[pick(kAnimal, rng, nll)].text;
  s += " named " + n + ".";
  const int middle = 2 + int(pick(kMiddleCount, rng, nll));
  for (int i = 0; i < middle; ++i) {
    switch (pick(kTemplate, rng, nll)) {
      case 0:
        s += " One day, " + n + " found a " + kColor[pick(kColor, rng, nll)].text + " " +
             kThing[pick(kThing, rng, nll)].text + " in the " + kPlace[pick(kPlace, rng, nll)].text + ".";
        break;
      case 1:
        s += " Then " + n + " went to the " + std::string(kPlace[pick(kPlace, rng, nll)].text) + " to " +
             kVerb[pick(kVerb, rng, nll)].text + ".";
        break;
      case 2:
        s += " " + pro + " liked to " + std::string(kVerb[pick(kVerb, rng, nll)].text) + " with the " +
             kThing[pick(kThing, rng, nll)].text + ".";
        break;
      case 3:
        s += " Suddenly, " + n + " felt " + std::string(kFeeling[pick(kFeeling, rng, nll)].text) + ".";
        break;
      default:
        s += " Later, the " + std::string(kFriend[pick(kFriend, rng, nll)].text) + " said, \"Let us " +
             kVerb[pick(kVerb, rng, nll)].text + "!\"";
        break;
    }
  }
  s += " ";
  s += kEnding[pick(kEnding, rng, nll)].text;
  return s;
}

}  // namespace

std::vector<Story> generateStories(uint64_t seed, int count) {
  Rng rng(seed);
  std::vector<Story> out;
  out.reserve(size_t(count));
  for (int i = 0; i < count; ++i) {
    Story st;
    st.text = storyText(rng, st.nll);
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace precis
