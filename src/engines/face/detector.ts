// The face detector port: what avatar training checks need to know about faces in a frame,
// independent of the engine (Human/TensorFlow.js today) that finds them.

/** A rectangle in image pixels; x/y is the top-left corner. */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface DetectedFace {
  /** Confidence 0..1 that this is a face. */
  score: number;
  /** The face, clipped to the image. */
  box: FaceBox;
  /** The lips region from the face mesh, when the engine produces one (lip-sync training needs it visible). */
  mouth?: FaceBox;
}

/** A decoded picture: 24-bit RGB, row by row. */
export interface RgbFrame {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** One face's full mesh (468 points, x0, y0, x1, y1, ... in the frame's pixels) and head rotation in radians. */
export interface FaceMesh {
  score: number;
  box: FaceBox;
  points: Float32Array;
  yaw: number;
  pitch: number;
  roll: number;
}

export interface FaceDetector {
  /** Faces in one JPEG or PNG image. */
  detect(image: Buffer): Promise<DetectedFace[]>;
  /**
   * Face meshes in one raw frame of a video. With `track` > 0 the engine may reuse the previous
   * frame's face boxes for up to that many frames (faster; new faces show up at the next fresh detection).
   */
  mesh(frame: RgbFrame, track: number): Promise<FaceMesh[]>;
  close(): Promise<void>;
}

/** The detection backend cannot start; the message tells an operator what is wrong and how to fix it. */
export class FaceDetectorUnavailable extends Error {
  override name = 'FaceDetectorUnavailable';
}

export interface FramesFaceSummary {
  /** Frames with at least one face scoring minScore or more. */
  framesWithFace: number;
  total: number;
  /** The highest-scoring face (minScore or more) over all frames. */
  best: DetectedFace | null;
}

/**
 * Checks face presence over sampled video frames. Frames go one at a time: the detector runs
 * one inference at a time anyway, and this keeps only one frame in flight (frames can be large).
 */
export async function facesInFrames(detector: FaceDetector, frames: Buffer[], minScore = 0.5): Promise<FramesFaceSummary> {
  let framesWithFace = 0;
  let best: DetectedFace | null = null;
  for (const frame of frames) {
    const faces = (await detector.detect(frame)).filter((face) => face.score >= minScore);
    if (faces.length > 0) framesWithFace++;
    for (const face of faces) if (!best || face.score > best.score) best = face;
  }
  return { framesWithFace, total: frames.length, best };
}
