#pragma once
// `fool retrain`: the paper's retraining loop (PAPER.md §2.4). Round 0 evolves fooling images
// against the given network; each later round trains a network with one more class, `fooling`,
// made of every earlier round's fooling images, and evolves against it again (targeting the real
// classes only). One directory holds every round:
//   retrain.json            the settings (a later call with the same ones continues the rounds)
//   round-NN/model.pt       round NN's network, a normal contract model (round 0: the given one)
//   round-NN/run/           the run against it (fool run's directory)
//   round-NN/round.json     the round's row once it is complete
//   rounds.csv              one row per complete round
// Resume is per round: a complete round is read back, a trained network is kept, and an
// interrupted run continues from its checkpoint.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "fool/run/run_config.h"
#include "fool/train/training.h"

namespace fool {

struct RetrainConfig {
  RunConfig run;                   ///< each round's evolution; run.model is the first network, run.out the directory
  std::string data;                ///< folder of IDX files: train-images/-labels and t10k-images/-labels (.gz or not)
  int64_t rounds = 15;             ///< retrained networks after round 0's
  std::string init = "fine-tune";  ///< fine-tune: from the previous network; scratch: re-initialised (the paper)
  TrainOptions train;
  int64_t train_limit = 0;       ///< use the first N training images (0: all)
  bool snapshot_elites = false;  ///< also add every snapshot's elites, not only the final ones
  double fooling_share = 1.0;    ///< the fooling class is sampled this many times as often as an average real class
};

/// Visits the retraining settings as (name, field, help); the run settings come from for_each_setting.
template <class Visitor>
void for_each_retrain_setting(RetrainConfig& c, Visitor&& visit) {
  visit("data", c.data,
        "folder with the IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
        "t10k-labels-idx1-ubyte (each may end in .gz); t10k is the held-out test split");
  visit("rounds", c.rounds, "retrained networks after the first (the paper: 15)");
  visit("init", c.init, "fine-tune (each network from the previous one) or scratch (re-initialised, as the paper)");
  visit("epochs", c.train.epochs, "training passes over the data per round");
  visit("train-batch-size", c.train.batch_size, "training mini-batch size");
  visit("train-lr", c.train.learning_rate, "SGD learning rate");
  visit("momentum", c.train.momentum, "SGD momentum");
  visit("weight-decay", c.train.weight_decay, "SGD L2 weight decay");
  visit("train-limit", c.train_limit, "use only the first N training images (0: all)");
  visit("snapshot-elites", c.snapshot_elites,
        "add every snapshot's elites to the fooling class, not only the final ones");
  visit("fooling-share", c.fooling_share,
        "sample the fooling class this many times as often as an average real class (its images repeated)");
}

/// One row of rounds.csv.
struct RoundRecord {
  int64_t round = 0;
  std::string model;               ///< the network's file, relative to the retrain directory
  double test_accuracy = 0;        ///< on the held-out split, argmax over every output
  int64_t fooling_added = 0;       ///< fooling images this round's run contributes to later rounds
  int64_t fooling_trained = 0;     ///< distinct fooling images the network was trained on
  double earlier_as_fooling = -1;  ///< fraction of earlier rounds' fooling images it labels `fooling` (−1: none)
  double earlier_median = -1;      ///< median probability it gives them of their own class (−1: none)
  int64_t classes = 0;             ///< target classes of the run
  double median_confidence = 0, min_confidence = 0;
  int64_t at_099 = 0, at_09999 = 0;  ///< classes at or above 0.99 and 0.9999
  int64_t evaluations = 0;
  int64_t evaluations_to_099 = -1, evaluations_to_09999 = -1;  ///< until every class got there (−1: never)
  double train_loss = 0, train_seconds = 0, evolve_seconds = 0;
};

const std::vector<std::string>& rounds_csv_header();
std::string rounds_csv_row(const RoundRecord& r);
/// Reads rounds.csv; throws fool::Error (kIo) naming the file and the row at fault.
std::vector<RoundRecord> parse_rounds_csv(const std::string& text, const std::string& source);

/// Runs the rounds of `config` into config.run.out. Returns 0, or 128 + the signal that stopped
/// it (every complete round kept). Throws fool::Error for bad settings, data, models or files.
int execute_retrain(RetrainConfig config, const std::atomic<int>* stop_signal = nullptr);

}  // namespace fool
