"""ADIOS itself (Shi, Siddharth, Torr, Kosiorek, ICML 2022): the occlusion model and the learned strategies."""
