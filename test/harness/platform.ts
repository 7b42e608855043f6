/** The platform API stand-in the tests use: the same one `npm run dev` starts. */
export {
  CONTAINER_HOST,
  startPlatform,
  type PlatformStandIn,
  type PlatformSync,
  type Submission,
} from '../../scripts/platform-stand-in';
