// Z' -> invisible selection in ROOT RDataFrame: the yardstick for b2dark's
// processors/zprime_inv/processor.py (issue 6). Same cuts, same regions, same
// histograms (including the muid weight and pscale shape variations), written
// the way a careful RDataFrame user would: typed C++ functions, compiled with
// ACLiC (-O2), no string jitting, implicit MT off (set from Python).
//
// Numerics mirror the Python side where it matters for bit-identical yields:
// four-vector algebra in double (processors.kinematics casts tracks to float64),
// comparisons of float32 branches against thresholds in float (NumPy 2 / NEP 50
// compares a float32 array with a Python float in float32), the boost formula
// and operation order of processors.kinematics.boost, theta = atan2(pT, z).
// Thresholds come from the Python processor module through ZinvConfig.

#include <ROOT/RDataFrame.hxx>
#include <ROOT/RResultHandle.hxx>
#include <ROOT/RVec.hxx>
#include <TH1D.h>
#include <TH2D.h>

#include <cmath>
#include <string>
#include <vector>

using ROOT::VecOps::RVec;

struct ZinvConfig {
  // object selection
  float d0_max = 0.5f, z0_max = 2.0f;
  float muon_id_min = 0.5f, electron_id_min = 0.5f;
  double m_mu = 0.1056583755, m_e = 0.00051099895;
  // acceptance [rad], precomputed in Python exactly as processors.selections does
  double barrel_min = 0, barrel_max = 0, gap90_half = 0;
  float fwd_min_f = 0, fwd_max_f = 0, barrel_min_f = 0, barrel_max_f = 0, bwd_min_f = 0, bwd_max_f = 0;
  float gap90_half_f = 0, half_pi_f = 0;
  // photon veto
  double cone_cos = 0;  // cos(15 deg)
  float photon_min_e = 0.1f, extra_energy_max = 0.5f;
  bool klm_in_gaps = true;
  double opening_max_deg = 179.5;
  double m2_lo = -0.5, m2_hi = 81.0;
  // control samples
  float mmg_photon_e_min = 1.0f;
  double mmg_ecms_lo = 10.18, mmg_ecms_hi = 10.98;
  double ee_m2_max = 1.0;
  // systematics
  double muid_unc_low = 0.02, muid_unc_high = 0.01, muid_p_split = 1.0;
  float pscale_up = 1.001f, pscale_down = 0.999f;
  // nominal e- beam (x, y, z, t) in the lab: defines the CMS z axis
  double her[4] = {0, 0, 0, 0};
  // histogram binning
  int m2_bins = 1000;
  std::vector<double> theta_edges;
};

struct P4 {
  double x, y, z, t;
};

inline P4 operator+(const P4& a, const P4& b) { return {a.x + b.x, a.y + b.y, a.z + b.z, a.t + b.t}; }
inline P4 operator-(const P4& a, const P4& b) { return {a.x - b.x, a.y - b.y, a.z - b.z, a.t - b.t}; }
inline double mag2(const P4& v) { return v.x * v.x + v.y * v.y + v.z * v.z; }
inline double m2of(const P4& v) { return v.t * v.t - mag2(v); }
inline double massof(const P4& v) {
  const double s = m2of(v);
  return (s > 0 ? 1.0 : (s < 0 ? -1.0 : 0.0)) * std::sqrt(std::abs(s));
}
inline double thetaof(const P4& v) { return std::atan2(std::hypot(v.x, v.y), v.z); }
inline double phiof(const P4& v) { return std::atan2(v.y, v.x); }

// v boosted into the rest frame of p: processors.kinematics.boost(v, -p/E), same operation order.
inline P4 boost_cm(const P4& v, const P4& p) {
  const double bx = -p.x / p.t, by = -p.y / p.t, bz = -p.z / p.t;
  const double b2 = bx * bx + by * by + bz * bz;
  const double gamma = 1.0 / std::sqrt(1.0 - b2);
  const double bp = bx * v.x + by * v.y + bz * v.z;
  const double k = (gamma - 1.0) * bp / b2 + gamma * v.t;
  return {v.x + k * bx, v.y + k * by, v.z + k * bz, gamma * (v.t + bp)};
}

// NaN-propagating clip, as np.minimum(np.maximum(x, -1), 1).
inline double clip1(double c) { return std::isnan(c) ? c : (c < -1.0 ? -1.0 : (c > 1.0 ? 1.0 : c)); }
inline double cos_angle(double ax, double ay, double az, double bx, double by, double bz) {
  const double dot = ax * bx + ay * by + az * bz;
  const double norm = std::sqrt((ax * ax + ay * ay + az * az) * (bx * bx + by * by + bz * bz));
  return clip1(dot / norm);
}
inline double deg(double rad) { return rad * (180.0 / M_PI); }

// The i-th track as a four-vector with mass m (zero vector if absent), momenta scaled in float.
inline P4 track_p4(const RVec<float>& px, const RVec<float>& py, const RVec<float>& pz, std::size_t i, double m,
                   float scale) {
  if (i >= px.size()) return {0, 0, 0, std::sqrt(m * m)};
  const double x = scale == 1.0f ? px[i] : px[i] * scale;
  const double y = scale == 1.0f ? py[i] : py[i] * scale;
  const double z = scale == 1.0f ? pz[i] : pz[i] * scale;
  return {x, y, z, std::sqrt(x * x + y * y + z * z + m * m)};
}

struct Recoil {
  double m2 = NAN, theta_cms = NAN, theta = NAN, phi = NAN, opening = NAN;
  P4 pair{0, 0, 0, 0};
};

inline Recoil recoil_of(const P4& beam, const P4& t1, const P4& t2, const ZinvConfig& c, bool angles_cms) {
  Recoil r;
  r.pair = t1 + t2;
  const double s = m2of(beam);
  const P4 pc = boost_cm(r.pair, beam);
  r.m2 = s + m2of(r.pair) - 2.0 * std::sqrt(s) * pc.t;
  const P4 rec = beam - r.pair;
  r.theta = thetaof(rec);
  r.phi = phiof(rec);
  if (angles_cms) {
    const P4 her{c.her[0], c.her[1], c.her[2], c.her[3]};
    const P4 h = boost_cm(her, beam);
    const double n = std::sqrt(h.x * h.x + h.y * h.y + h.z * h.z);
    r.theta_cms = std::acos(cos_angle(-pc.x, -pc.y, -pc.z, h.x / n, h.y / n, h.z / n));
    const P4 a = boost_cm(t1, beam), b = boost_cm(t2, beam);
    r.opening = deg(std::acos(cos_angle(a.x, a.y, a.z, b.x, b.y, b.z)));
  }
  return r;
}

inline bool in_barrel(double th, const ZinvConfig& c) {
  return th >= c.barrel_min && th <= c.barrel_max && std::abs(th - M_PI / 2) > c.gap90_half;
}
// KLM cluster directions in an ECL gap (float32 comparisons, as in processors.selections.in_ecl_gap).
inline bool in_ecl_gap_f(float th, const ZinvConfig& c) {
  const bool fwd = th >= c.fwd_min_f && th < c.fwd_max_f;
  const bool bar = th >= c.barrel_min_f && th <= c.barrel_max_f;
  const bool bwd = th > c.bwd_min_f && th <= c.bwd_max_f;
  return !(fwd || bar || bwd) || std::abs(th - c.half_pi_f) <= c.gap90_half_f;
}
inline bool in_cone(float th, float ph, double ax, double ay, double az, const ZinvConfig& c) {
  const float st = std::sin(th);
  const float ux = st * std::cos(ph), uy = st * std::sin(ph), uz = std::cos(th);
  return cos_angle(ux, uy, uz, ax, ay, az) > c.cone_cos;
}

inline bool photon_veto(const RVec<float>& gE, const RVec<float>& gth, const RVec<float>& gph, const RVec<float>& kth,
                        const RVec<float>& kph, double th, double ph, float extra, const ZinvConfig& c) {
  const double st = std::sin(th);
  const double ax = st * std::cos(ph), ay = st * std::sin(ph), az = std::cos(th);
  for (std::size_t i = 0; i < gE.size(); ++i)
    if (gE[i] > c.photon_min_e && in_cone(gth[i], gph[i], ax, ay, az, c)) return false;
  if (!(extra <= c.extra_energy_max)) return false;
  if (c.klm_in_gaps)
    for (std::size_t i = 0; i < kth.size(); ++i)
      if (in_cone(kth[i], kph[i], ax, ay, az, c) && in_ecl_gap_f(kth[i], c)) return false;
  return true;
}

// Everything the nominal selection needs, computed once per event.
struct Zinv {
  bool trigger, two_tracks, opposite, muid, barrel, veto, not_b2b, in_range;
  bool has_g, mmg_window, emu, ee, barrel_e, veto_e, not_b2b_e, m2e_below;
  double m2, theta_cms, rec_theta_deg, opening, pair_pt, m_mumu, p1, p2, cos1, cos2, m2_e;
  double muid_up, muid_down;
  float extra_energy;
  bool sr() const { return trigger && two_tracks && opposite && muid && barrel && veto && not_b2b && in_range; }
};

struct ZinvShape {
  bool sr;
  double m2, theta_cms;
};

struct Tracks {
  const RVec<float>&px, &py, &pz;
  const RVec<int>& charge;
  const RVec<float>&d0, &z0, &muonID, &electronID;
};

inline bool common_cuts(const Tracks& t, const ZinvConfig& c, bool& two, bool& opp, bool& muid) {
  const std::size_t n = t.px.size();
  int n_ip = 0;
  for (std::size_t i = 0; i < n; ++i) n_ip += (std::abs(t.d0[i]) < c.d0_max) && (std::abs(t.z0[i]) < c.z0_max);
  two = n_ip == 2 && n == 2;
  const int q1 = n > 0 ? t.charge[0] : 0, q2 = n > 1 ? t.charge[1] : 0;
  opp = q1 * q2 < 0;
  muid = n > 1 && t.muonID[0] > c.muon_id_min && t.muonID[1] > c.muon_id_min;
  return two && opp;
}

Zinv compute_zinv(const ZinvConfig& c, double bE, double bx, double by, double bz, bool trg, const Tracks& t,
                  const RVec<float>& gE, const RVec<float>& gth, const RVec<float>& gph, const RVec<float>& kth,
                  const RVec<float>& kph) {
  Zinv z{};
  const P4 beam{bx, by, bz, bE};
  z.trigger = trg;
  common_cuts(t, c, z.two_tracks, z.opposite, z.muid);
  const P4 t1 = track_p4(t.px, t.py, t.pz, 0, c.m_mu, 1.0f), t2 = track_p4(t.px, t.py, t.pz, 1, c.m_mu, 1.0f);
  const Recoil r = recoil_of(beam, t1, t2, c, true);
  z.m2 = r.m2;
  z.theta_cms = r.theta_cms;
  z.opening = r.opening;
  z.rec_theta_deg = deg(r.theta);
  z.barrel = in_barrel(r.theta, c);
  float extra = 0.0f;
  for (float e : gE) extra += e;
  z.extra_energy = extra;
  z.veto = photon_veto(gE, gth, gph, kth, kph, r.theta, r.phi, extra, c);
  z.not_b2b = r.opening < c.opening_max_deg;
  z.in_range = r.m2 >= c.m2_lo && r.m2 < c.m2_hi;
  z.pair_pt = std::hypot(r.pair.x, r.pair.y);
  z.m_mumu = massof(r.pair);
  z.p1 = std::sqrt(mag2(t1));
  z.p2 = std::sqrt(mag2(t2));
  z.cos1 = t1.z / z.p1;
  z.cos2 = t2.z / z.p2;
  const double d1 = z.p1 < c.muid_p_split ? c.muid_unc_low : c.muid_unc_high;
  const double d2 = z.p2 < c.muid_p_split ? c.muid_unc_low : c.muid_unc_high;
  z.muid_up = (1 + d1) * (1 + d2);
  z.muid_down = (1 - d1) * (1 - d2);

  // mu mu gamma control sample: hardest photon above threshold (first on ties).
  int ig = -1;
  for (std::size_t i = 0; i < gE.size(); ++i)
    if (gE[i] > c.mmg_photon_e_min && (ig < 0 || gE[i] > gE[ig])) ig = static_cast<int>(i);
  z.has_g = ig >= 0;
  {
    // as processors.kinematics.P4.from_angles on float64 columns
    const double ge = z.has_g ? static_cast<double>(gE[ig]) : 0.0;
    const double th = z.has_g ? gth[ig] : 0.0, ph = z.has_g ? gph[ig] : 0.0;
    const double st = std::sin(th);
    const P4 g{ge * st * std::cos(ph), ge * st * std::sin(ph), ge * std::cos(th), ge};
    const double e = boost_cm(r.pair + g, beam).t;
    z.mmg_window = e > c.mmg_ecms_lo && e < c.mmg_ecms_hi;
  }

  // e mu / e e control samples: mass hypothesis from electron ID.
  const std::size_t n = t.px.size();
  auto mass_of = [&](std::size_t i) { return (i < n && t.electronID[i] > c.electron_id_min) ? c.m_e : c.m_mu; };
  auto is_e = [&](std::size_t i) { return i < n && t.electronID[i] > c.electron_id_min && !(t.muonID[i] > c.muon_id_min); };
  auto is_mu = [&](std::size_t i) { return i < n && t.muonID[i] > c.muon_id_min && !(t.electronID[i] > c.electron_id_min); };
  z.emu = (is_e(0) && is_mu(1)) || (is_mu(0) && is_e(1));
  z.ee = is_e(0) && is_e(1);
  const P4 e1 = track_p4(t.px, t.py, t.pz, 0, mass_of(0), 1.0f), e2 = track_p4(t.px, t.py, t.pz, 1, mass_of(1), 1.0f);
  const Recoil re = recoil_of(beam, e1, e2, c, true);
  z.m2_e = re.m2;
  z.barrel_e = in_barrel(re.theta, c);
  z.veto_e = photon_veto(gE, gth, gph, kth, kph, re.theta, re.phi, extra, c);
  z.not_b2b_e = re.opening < c.opening_max_deg;
  z.m2e_below = re.m2 < c.ee_m2_max;
  return z;
}

ZinvShape compute_shape(const ZinvConfig& c, float scale, double bE, double bx, double by, double bz, bool trg,
                        const Tracks& t, const RVec<float>& gE, const RVec<float>& gth, const RVec<float>& gph,
                        const RVec<float>& kth, const RVec<float>& kph) {
  ZinvShape s{false, NAN, NAN};
  bool two, opp, muid;
  common_cuts(t, c, two, opp, muid);
  if (!(trg && two && opp && muid)) return s;  // the cheap cuts first
  const P4 beam{bx, by, bz, bE};
  const P4 t1 = track_p4(t.px, t.py, t.pz, 0, c.m_mu, scale), t2 = track_p4(t.px, t.py, t.pz, 1, c.m_mu, scale);
  const Recoil r = recoil_of(beam, t1, t2, c, true);
  float extra = 0.0f;
  for (float e : gE) extra += e;
  s.sr = in_barrel(r.theta, c) && photon_veto(gE, gth, gph, kth, kph, r.theta, r.phi, extra, c) &&
         r.opening < c.opening_max_deg && r.m2 >= c.m2_lo && r.m2 < c.m2_hi;
  s.m2 = r.m2;
  s.theta_cms = r.theta_cms;
  return s;
}

// ----------------------------------------------------------------------------- booking
struct ZinvBooked {
  std::vector<std::string> cut_names;      // "region/cut"
  std::vector<ROOT::RDF::RResultPtr<ULong64_t>> counts;
  std::vector<ROOT::RDF::RResultPtr<double>> sums;
  std::vector<std::string> hist_names;     // "name/syst"
  std::vector<ROOT::RDF::RResultPtr<TH1D>> h1;
  std::vector<std::string> hist2_names;
  std::vector<ROOT::RDF::RResultPtr<TH2D>> h2;
  std::vector<ROOT::RDF::RResultHandle> handles() const {
    std::vector<ROOT::RDF::RResultHandle> out;
    for (auto& r : counts) out.emplace_back(r);
    for (auto& r : sums) out.emplace_back(r);
    for (auto& r : h1) out.emplace_back(r);
    for (auto& r : h2) out.emplace_back(r);
    return out;
  }
};

#define ZINV_TRACK_COLS "Track_px", "Track_py", "Track_pz", "Track_charge", "Track_d0", "Track_z0", "Track_muonID", "Track_electronID"
#define ZINV_COLS "beam_E", "beam_px", "beam_py", "beam_pz", "trg_ffo", ZINV_TRACK_COLS, "Photon_E", "Photon_theta", "Photon_phi", "KLMCluster_theta", "KLMCluster_phi"

ZinvBooked book_zinv(ROOT::RDF::RNode df, const ZinvConfig& c, double norm, const std::string& tag) {
  ZinvBooked b;
  auto nominal = [c](double bE, double bx, double by, double bz, bool trg, const RVec<float>& px, const RVec<float>& py,
                     const RVec<float>& pz, const RVec<int>& q, const RVec<float>& d0, const RVec<float>& z0,
                     const RVec<float>& mu, const RVec<float>& el, const RVec<float>& gE, const RVec<float>& gth,
                     const RVec<float>& gph, const RVec<float>& kth, const RVec<float>& kph) {
    return compute_zinv(c, bE, bx, by, bz, trg, Tracks{px, py, pz, q, d0, z0, mu, el}, gE, gth, gph, kth, kph);
  };
  auto shape = [c](float scale) {
    return [c, scale](double bE, double bx, double by, double bz, bool trg, const RVec<float>& px,
                      const RVec<float>& py, const RVec<float>& pz, const RVec<int>& q, const RVec<float>& d0,
                      const RVec<float>& z0, const RVec<float>& mu, const RVec<float>& el, const RVec<float>& gE,
                      const RVec<float>& gth, const RVec<float>& gph, const RVec<float>& kth,
                      const RVec<float>& kph) {
      return compute_shape(c, scale, bE, bx, by, bz, trg, Tracks{px, py, pz, q, d0, z0, mu, el}, gE, gth, gph, kth,
                           kph);
    };
  };
  auto d = df.Define("w", [norm](float w) { return norm * static_cast<double>(w); }, {"weight"})
               .Define("z", nominal, {ZINV_COLS});

  auto step = [&b](ROOT::RDF::RNode node, const std::string& name) {
    b.cut_names.push_back(name);
    b.counts.push_back(node.Count());
    b.sums.push_back(node.Sum<double>("w"));
  };
  using N = ROOT::RDF::RNode;
  auto cut = [](N node, bool Zinv::*m) -> N { return node.Filter([m](const Zinv& z) { return z.*m; }, {"z"}); };

  // signal region "sr" (and "presel" = its first six steps)
  N n_all = d;
  step(n_all, "sr/all");
  N n_trg = cut(n_all, &Zinv::trigger);
  step(n_trg, "sr/trigger");
  N n_two = cut(n_trg, &Zinv::two_tracks);
  step(n_two, "sr/two_ip_tracks_no_extra");
  N n_opp = cut(n_two, &Zinv::opposite);
  step(n_opp, "sr/opposite_charge");
  N n_mu = cut(n_opp, &Zinv::muid);
  step(n_mu, "sr/muon_id");
  N n_bar = cut(n_mu, &Zinv::barrel);
  step(n_bar, "sr/recoil_in_barrel");
  N n_veto = cut(n_bar, &Zinv::veto);
  step(n_veto, "sr/photon_veto");
  N n_b2b = cut(n_veto, &Zinv::not_b2b);
  step(n_b2b, "sr/not_back_to_back");
  N n_sr = cut(n_b2b, &Zinv::in_range);
  step(n_sr, "sr/m2_in_range");

  const int nth = static_cast<int>(c.theta_edges.size()) - 1;
  const double* edges = c.theta_edges.data();
  auto sr = n_sr.Define("m2", [](const Zinv& z) { return z.m2; }, {"z"})
                .Define("theta_cms", [](const Zinv& z) { return z.theta_cms; }, {"z"})
                .Define("w_up", [](const Zinv& z, double w) { return w * z.muid_up; }, {"z", "w"})
                .Define("w_down", [](const Zinv& z, double w) { return w * z.muid_down; }, {"z", "w"})
                .Define("mu_p", [](const Zinv& z) { return RVec<double>{z.p1, z.p2}; }, {"z"})
                .Define("mu_cos", [](const Zinv& z) { return RVec<double>{z.cos1, z.cos2}; }, {"z"})
                .Define("opening", [](const Zinv& z) { return z.opening; }, {"z"})
                .Define("pair_pt", [](const Zinv& z) { return z.pair_pt; }, {"z"})
                .Define("m_mumu", [](const Zinv& z) { return z.m_mumu; }, {"z"})
                .Define("rec_theta_deg", [](const Zinv& z) { return z.rec_theta_deg; }, {"z"});
  auto h2 = [&](N node, const std::string& name, const char* x, const char* y, const char* w) {
    b.hist2_names.push_back(name);
    b.h2.push_back(node.Histo2D<double, double, double>(
        {(tag + name).c_str(), "", c.m2_bins, c.m2_lo, c.m2_hi, nth, edges}, x, y, w));
  };
  auto h1 = [&](N node, const std::string& name, int nb, double lo, double hi, const char* x, const char* w) {
    b.hist_names.push_back(name);
    b.h1.push_back(node.Histo1D<double, double>({(tag + name).c_str(), "", nb, lo, hi}, x, w));
  };
  auto h1v = [&](N node, const std::string& name, int nb, double lo, double hi, const char* x, const char* w) {
    b.hist_names.push_back(name);
    b.h1.push_back(node.Histo1D<RVec<double>, double>({(tag + name).c_str(), "", nb, lo, hi}, x, w));
  };
  h2(sr, "template/nominal", "m2", "theta_cms", "w");
  h2(sr, "template/muid_up", "m2", "theta_cms", "w_up");
  h2(sr, "template/muid_down", "m2", "theta_cms", "w_down");
  h1(sr, "m2_recoil/nominal", c.m2_bins, c.m2_lo, c.m2_hi, "m2", "w");
  h1(sr, "m2_recoil/muid_up", c.m2_bins, c.m2_lo, c.m2_hi, "m2", "w_up");
  h1(sr, "m2_recoil/muid_down", c.m2_bins, c.m2_lo, c.m2_hi, "m2", "w_down");
  h1v(sr, "var_mu_p", 60, 0, 6, "mu_p", "w");
  h1v(sr, "var_mu_cos_theta", 40, -1, 1, "mu_cos", "w");
  h1(sr, "var_opening_angle_cms", 90, 0, 180, "opening", "w");
  h1(sr, "var_pair_pt", 60, 0, 6, "pair_pt", "w");
  h1(sr, "var_m_mumu", 106, 0, 10.6, "m_mumu", "w");
  h1(sr, "var_recoil_theta_lab", 36, 0, 180, "rec_theta_deg", "w");

  // N-1 plots on the preselection
  auto nm1_e = n_bar.Filter([](const Zinv& z) { return z.not_b2b && z.in_range; }, {"z"})
                   .Define("extra_e", [](const Zinv& z) { return static_cast<double>(z.extra_energy); }, {"z"});
  h1(nm1_e, "nm1_extra_energy", 60, 0, 3, "extra_e", "w");
  auto nm1_o = n_bar.Filter([](const Zinv& z) { return z.veto && z.in_range; }, {"z"})
                   .Define("opening", [](const Zinv& z) { return z.opening; }, {"z"});
  h1(nm1_o, "nm1_opening_angle_cms", 100, 170, 180, "opening", "w");

  // control samples
  N g_has = cut(n_mu, &Zinv::has_g);
  N g_win = cut(g_has, &Zinv::mmg_window);
  step(n_all, "mumugamma/all");
  step(n_trg, "mumugamma/trigger");
  step(n_two, "mumugamma/two_ip_tracks_no_extra");
  step(n_opp, "mumugamma/opposite_charge");
  step(n_mu, "mumugamma/muon_id");
  step(g_has, "mumugamma/hard_photon");
  step(g_win, "mumugamma/ecms_window");
  h1(g_win.Define("m2", [](const Zinv& z) { return z.m2; }, {"z"}), "cr_mumugamma_m2_recoil", 100, -2, 2, "m2", "w");

  N e_id = cut(n_opp, &Zinv::emu);
  N e_bar = cut(e_id, &Zinv::barrel_e);
  N e_veto = cut(e_bar, &Zinv::veto_e);
  N e_b2b = cut(e_veto, &Zinv::not_b2b_e);
  for (auto [node, name] : {std::pair<N, const char*>{n_all, "all"}, {n_trg, "trigger"}, {n_two, "two_ip_tracks_no_extra"},
                            {n_opp, "opposite_charge"}, {e_id, "e_mu_id"}, {e_bar, "recoil_in_barrel"},
                            {e_veto, "photon_veto"}, {e_b2b, "not_back_to_back"}})
    step(node, std::string("emu/") + name);
  h1(e_b2b.Define("m2_e", [](const Zinv& z) { return z.m2_e; }, {"z"}), "cr_emu_m2_recoil", c.m2_bins, c.m2_lo, c.m2_hi,
     "m2_e", "w");

  N ee_id = cut(n_opp, &Zinv::ee);
  N ee_bar = cut(ee_id, &Zinv::barrel_e);
  N ee_m2 = cut(ee_bar, &Zinv::m2e_below);
  for (auto [node, name] : {std::pair<N, const char*>{n_all, "all"}, {n_trg, "trigger"}, {n_two, "two_ip_tracks_no_extra"},
                            {n_opp, "opposite_charge"}, {ee_id, "e_e_id"}, {ee_bar, "recoil_in_barrel"},
                            {ee_m2, "m2_below_1"}})
    step(node, std::string("ee/") + name);
  auto ee_h = ee_m2.Define("m2_e", [](const Zinv& z) { return z.m2_e; }, {"z"})
                  .Define("veto_i", [](const Zinv& z) { return z.veto_e ? 1.0 : 0.0; }, {"z"});
  b.hist2_names.push_back("cr_ee_m2_recoil");
  b.h2.push_back(ee_h.Histo2D<double, double, double>({(tag + "cr_ee").c_str(), "", 30, -0.5, 1.0, 2, -0.5, 1.5},
                                                      "m2_e", "veto_i", "w"));

  // shape variations: the momentum scale moves the recoil, so re-select
  for (auto [scale, syst] : {std::pair<float, const char*>{c.pscale_up, "pscale_up"}, {c.pscale_down, "pscale_down"}}) {
    const std::string col = std::string("s_") + syst;
    auto v = d.Define(col, shape(scale), {ZINV_COLS})
                 .Filter([](const ZinvShape& s) { return s.sr; }, {col})
                 .Define("m2v", [](const ZinvShape& s) { return s.m2; }, {col})
                 .Define("thv", [](const ZinvShape& s) { return s.theta_cms; }, {col});
    h2(v, std::string("template/") + syst, "m2v", "thv", "w");
    h1(v, std::string("m2_recoil/") + syst, c.m2_bins, c.m2_lo, c.m2_hi, "m2v", "w");
  }
  return b;
}
