"""Kinematics: segment frames, joint angles, pelvis, gait events and triple extension.

A segment frame is a rotation matrix per frame, shape ``(n, 3, 3)``, whose columns are
the segment's axes expressed in the lab: Plug-in Gait (PiG) semantics, X anterior,
Y to the left (for both sides), Z proximal (up the segment). The foot follows PiG: Z
points from the toe to the heel and X up, so a flat foot stands at -90 deg to the shank.
Frames come from

* :func:`frames_from_points`: PiG segment points (origin, anterior, lateral, proximal);
* :func:`frames_from_quaternions`: rigid bodies (position + quaternion) as streamed by
  Qualisys/OptiTrack-style LSL apps, with a constant offset rotation per segment;
* :func:`frames_from_markers`: the simple marker set of ``docs/kinematics.md``
  (ASIS/PSIS; hip centre, lateral and medial knee; lateral and medial malleolus;
  heel and toe).

Joint angles (:func:`joint_angles`, :func:`lower_limb_angles`) are Cardan angles of the
distal frame relative to the proximal frame in the clinical order, intrinsic Y-X-Z
(flexion, adduction, rotation), with PiG signs: hip flexion +, knee flexion +,
ankle dorsiflexion + (``-thetaY - 90 deg``); adduction and internal rotation + on both
sides. Radians inside; degrees at the edge (``degrees=True``). Reproduces Vicon's
``R/LHipAnglesV``, ``R/LKneeAnglesV`` and ``R/LAnkleAnglesV`` from the segment points of
PiG_Motion3_FF.c3d (tests/signal/test_kinematics_c3d.py).

Triple extension (:func:`triple_extension`) gives, per joint, the extension onset and
the time and value of the peak extension velocity (relative to take-off when given),
the hip->knee and knee->ankle lags, the order with a tolerance of at least one frame,
and continuous relative phase summaries.

NaN marks a missing frame: frames and angles propagate it (a NaN input frame gives NaN
angles); functions that search events raise :class:`~labkit.errors.SignalError` on NaN
inside their search window. Definitions and sources: ``docs/kinematics.md``.

Examples
--------
>>> import numpy as np
>>> from labkit.signal import kinematics as kin
>>> pelvis = kin.rotation_yxz(np.zeros(1), np.zeros(1), np.zeros(1))
>>> thigh = kin.rotation_yxz(np.deg2rad([-30.0]), np.zeros(1), np.zeros(1))
>>> float(kin.joint_angles(pelvis, thigh, joint="hip", side="r")[0, 0].round(9))  # flexion +
30.0
"""

from __future__ import annotations

# The stages live in their own modules (frames, angles, gait, triple extension); this
# module is the public entry point and re-exports them, so
# ``from labkit.signal.kinematics import X`` and ``kinematics.X`` keep working (SIDES,
# not in __all__, imported as itself).
from labkit.signal._kinematics_common import ANGLE_COMPONENTS, JOINTS, SEGMENTS
from labkit.signal._kinematics_common import SIDES as SIDES
from labkit.signal.kinematics_angles import (
    JointAngles,
    joint_angles,
    lower_limb_angles,
    pelvis_angles,
)
from labkit.signal.kinematics_batch import TripleExtensionBatch, triple_extension_batch
from labkit.signal.kinematics_frames import (
    FOOT_FORWARD_TO_PIG,
    GIMBAL_LOCK_POLICIES,
    HIP_CENTRE_METHODS,
    MARKER_SETS,
    SIMPLE_MARKERS,
    THORAX_MARKERS,
    cardan_yxz,
    frames_from_channels,
    frames_from_markers,
    frames_from_points,
    frames_from_quaternions,
    hip_centres,
    marker_roles,
    marker_set,
    rotation_yxz,
    thorax_frame,
    thorax_if_present,
)
from labkit.signal.kinematics_gait import (
    Contacts,
    GaitSummary,
    foot_contacts_from_force,
    foot_contacts_from_markers,
    gait_summary,
    peak_hip_extension,
)
from labkit.signal.kinematics_triple import ONSET_METHODS, TripleExtension, triple_extension

__all__ = [
    "ANGLE_COMPONENTS",
    "FOOT_FORWARD_TO_PIG",
    "GIMBAL_LOCK_POLICIES",
    "HIP_CENTRE_METHODS",
    "JOINTS",
    "MARKER_SETS",
    "ONSET_METHODS",
    "SEGMENTS",
    "SIMPLE_MARKERS",
    "THORAX_MARKERS",
    "Contacts",
    "GaitSummary",
    "JointAngles",
    "TripleExtension",
    "TripleExtensionBatch",
    "cardan_yxz",
    "foot_contacts_from_force",
    "foot_contacts_from_markers",
    "frames_from_channels",
    "frames_from_markers",
    "frames_from_points",
    "frames_from_quaternions",
    "gait_summary",
    "hip_centres",
    "joint_angles",
    "lower_limb_angles",
    "marker_roles",
    "marker_set",
    "peak_hip_extension",
    "pelvis_angles",
    "rotation_yxz",
    "thorax_frame",
    "thorax_if_present",
    "triple_extension",
    "triple_extension_batch",
]

