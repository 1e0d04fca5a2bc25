"""How noise shapes the Hessian spectrum (source 004): noisy descent and the noise structures of Theorems 1-2
(:mod:`.descent`), the toy valleys (:mod:`.toy_losses`), Hessian--noise alignment eq (35) (:mod:`.alignment`),
the FDR stationarity criterion (:mod:`.fdr`), valley projection (:mod:`.valley`). Chapter 04's own experiments
(its digits networks, sweeps and toy runs) live in :mod:`landscape.studies.noise_hessian`.
"""

from landscape.noise.alignment import (
                      Alignment,
                      cosine_similarity,
                      dense_alignment,
                      matrix_free_alignment,
                      smoothed_ce_floor,
                      smoothed_cross_entropy,
)
from landscape.noise.descent import (
                      DiagonalNoise,
                      designed_noise,
                      isotropic_noise,
                      noise_strength,
                      noisy_descent,
                      sgd_noise,
                      stationary_variance,
)
from landscape.noise.fdr import FDRSides, fdr_criterion, fdr_sides
from landscape.noise.toy_losses import (
                      ValleyToy,
                      anticorrelated_toy,
                      entropic_equilibrium,
                      entropic_toy,
                      expected_change,
                      four_d_toy,
)
from landscape.noise.valley import (
                      Projection,
                      ValleyPath,
                      line_connected,
                      line_losses,
                      project_to_valley,
                      projected_path,
)

__all__ = [
    "noisy_descent", "designed_noise", "sgd_noise", "isotropic_noise", "DiagonalNoise", "stationary_variance",
    "noise_strength", "ValleyToy", "four_d_toy", "anticorrelated_toy", "entropic_toy", "expected_change",
    "entropic_equilibrium",
    "smoothed_cross_entropy", "smoothed_ce_floor", "cosine_similarity", "Alignment", "dense_alignment",
    "matrix_free_alignment", "FDRSides", "fdr_sides", "fdr_criterion", "Projection", "project_to_valley",
    "line_losses", "line_connected", "ValleyPath", "projected_path",
]
