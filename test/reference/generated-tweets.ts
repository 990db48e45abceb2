// The generator lives with the data layer (`pjrt-bert bench --serve` sends its texts); the tests
// keep importing it from here.
export { generatedTweets } from '../../lib/data/generated-tweets.js';
