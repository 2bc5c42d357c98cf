/**
 * The <script> build of the replay module (insightlite-replay.min.js): the
 * tracker's script adds it to the page when a session is to be recorded, and
 * takes the recorder from window.insightliteReplay once it has loaded.
 */
import { createRecorder } from './replay';
import { REPLAY_GLOBAL, type ReplayModule } from './replay-loader';

(window as Window & { [REPLAY_GLOBAL]?: ReplayModule })[REPLAY_GLOBAL] = { createRecorder };
