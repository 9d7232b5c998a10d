"""``adios bench`` (issue 14): what a training step, the masks and the probes cost on this device, side by side.

Parts (``BENCHMARKS.md``, "adios bench", says what each figure means):

* ``peak`` (:mod:`adios.bench.peak`): matmul GFLOP/s in fp32 and bf16;
* ``steps`` (:mod:`adios.bench.steps`): per encoder and image size, every strategy's training step
  (images/s, encoder passes per image, mask time, the occlusion model's share, FLOPs and the share of
  the bf16 peak), the naive per-mask ADIOS loop, and the ADIOS targets (``adios`` in the document);
* ``probes`` (:mod:`adios.bench.probes`): feature extraction images/s, linear and kNN probe seconds;
* ``compare`` (:mod:`adios.bench.breakdown`): one default ``adios compare`` split into its phases.

The JSON document (``--out``)::

    {"schema": "adios-bench/1", "quick": bool, "seconds": total,
     "machine": {device, torch, python, cpu, cpu_count, torch_threads[, gpu]},
     "load_before": [1, 5, 15 min load averages], "load_after": [...],
     "plan": {what was measured}, "settings": {objective, batch_size, precision, mask_options, ...},
     "peak": {"fp32": {n, repeats, gflops, best_gflops, seconds}, "bf16": {...}},
     "steps": [{encoder, image_size, batch, label, strategy, kind: step|naive|occlusion, learned,
                skipped, memory_estimate_gib, seconds, seconds_all, cpu_seconds, system_seconds,
                page_faults, images_per_s,
                passes_per_image, mask_seconds, gflop, gflops_achieved, peak_fraction, vs_none,
                occlusion_share_time, occlusion_share_flops}],
     "adios": [{encoder, image_size, n_masks, none_seconds, adios_seconds, adios_vs_none,
                adios_pass_bound, adios_target, adios_target_met, adios_flops_vs_none, naive_seconds,
                naive_vs_adios, adios_s_seconds, adios_s_vs_none, adios_s_target, adios_s_target_met,
                adios_s_flops_vs_none, adios_s_occlusion_share_time, occlusion_vs_none,
                adios_s_rest_vs_none, occlusion_flops_vs_none, adios_s_rest_flops_vs_none}],
     "probes": {"extraction": [{encoder, image_size, images, feature_dim, seconds, images_per_s}],
                "fits": [{n_train, n_test, dim, linear_seconds, linear_seconds_one_blas_thread,
                          blas_threads, linear_iterations, linear_acc, knn20_seconds, knn20_acc,
                          knn200_seconds, knn200_acc}]},
     "compare": {method, preset, warmup_steps, timed_steps, data_seconds, total_seconds,
                 "runs": [{run, kind, steps, setup_seconds, views_seconds, masks_seconds,
                           forward_backward_seconds, probes_seconds, io_seconds, checkpoints,
                           per_step: {views, masks, forward_backward}, total_seconds}]}}

Seconds are wall-clock medians of the timed repeats; ``cpu_seconds`` is process CPU time (all threads),
``system_seconds`` the kernel's share of it and ``page_faults`` the minor page faults, per step (medians).
"""

from adios.bench.report import print_tables, write_json
from adios.bench.run import PARTS, BenchPlan, run_bench

__all__ = ["PARTS", "BenchPlan", "print_tables", "run_bench", "write_json"]
