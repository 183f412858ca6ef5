import { locateMediaTools } from '/work/wt/cloud-clients/src/media/ffmpeg.ts';
import { reformatVideo, keyColor } from '/work/wt/cloud-clients/src/media/output-format.ts';
const tools = await locateMediaTools();
const k = await keyColor(tools, '/tmp/cc/gs.mp4', '/tmp/cc');
console.log(k);
await reformatVideo(tools, '/tmp/cc/gs.mp4', '/tmp/cc/out.mp4', '/tmp/cc/cover.jpg', { width: 640, height: 360, fps: 30, bitRate: 500000, background: '/tmp/cc/bg.jpg', keyColor: k });
await reformatVideo(tools, '/tmp/cc/gs.mp4', '/tmp/cc/out2.mp4', '/tmp/cc/cover2.jpg', { width: 640, height: 360, fps: 25 });
