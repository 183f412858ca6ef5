import { renderCover } from '/work/wt/cloud-clients/src/engines/avatar2d/render.ts';
import { loadImage } from '@napi-rs/canvas';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
execFileSync('ffmpeg', ['-v','error','-y','-f','lavfi','-i','color=c=0x1040d0:s=480x640','-frames:v','1','/tmp/cc/bg.png']);
await renderCover('-101', '/tmp/cc/cov.jpg', { width: 480, height: 640 }, await loadImage(readFileSync('/tmp/cc/bg.png')));
execFileSync('ffmpeg', ['-v','error','-y','-i','/tmp/cc/cov.jpg','/tmp/cc/cov.png']);
