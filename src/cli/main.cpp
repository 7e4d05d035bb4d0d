// fool: evolve images that a classifier labels with high confidence though no human would.
#include "cli/app.h"

int main(int argc, char** argv) {
  using namespace fool::cli;
  return run_app(argc, argv,
                 "fool: evolve images that deep networks classify with high confidence although no human would "
                 "recognise them (Nguyen, Yosinski & Clune, CVPR 2015).",
                 [](CLI::App& app) {
                   return std::vector<Command>{
                       add_run_command(app),      add_resume_command(app), add_info_command(app),
                       add_classify_command(app), add_render_command(app), add_check_command(app),
                       add_evaluate_command(app), add_report_command(app), add_bench_command(app),
                       add_sweep_command(app),    add_merge_command(app),  add_retrain_command(app)};
                 });
}
