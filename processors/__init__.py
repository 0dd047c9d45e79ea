"""b2dark processors: one module per search, plus what the searches share.

- schema.py       coffea NanoEvents schema of the event format (B2Schema), Parquet dask-mode workaround
- behaviors.py    awkward mixins: Track (mass hypotheses), Photon, MCParticle, KLMCluster, Vertex
- kinematics.py   CMS boost, recoil mass^2 / angle, helicity and opening angles, cones, extra energy
- selections.py   PID, impact parameters, ECL/KLM acceptance regions, photon veto, trigger
- base.py         SearchProcessor: weights, systematics, cutflows, histogram booking, blinding
- resolution.py   double Crystal Ball fit of the M^2_recoil peak, sigma_W(M) interpolation, window yields
- zprime_invisible.py   the e+e- -> mu mu Z', Z' -> invisible search

Processors never import workflows.
"""
