import { locateMediaTools } from '/work/wt/cloud-clients/src/media/ffmpeg.ts';
import { reformatVideo, keyColor } from '/work/wt/cloud-clients/src/media/output-format.ts';
import { execFileSync } from 'node:child_process';
const tools = await locateMediaTools();
execFileSync('ffmpeg', ['-v','error','-y','-f','lavfi','-i','color=c=0x1040d0:s=400x600','-f','lavfi','-i','color=c=0xf08020:s=400x600','-filter_complex','[0:v][1:v]hstack','-frames:v','1','/tmp/cc/bg2.png']);
const k = await keyColor(tools, '/tmp/cc/green.mp4', '/tmp/cc');
await reformatVideo(tools, '/tmp/cc/green.mp4', '/tmp/cc/gout.mp4', '/tmp/cc/gcover.jpg', { width: 720, height: 1280, fps: 25, background: '/tmp/cc/bg2.png', keyColor: k });
execFileSync('ffmpeg', ['-v','error','-y','-i','/tmp/cc/gcover.jpg','-vf','scale=360:640','/tmp/cc/gcover.png']);
