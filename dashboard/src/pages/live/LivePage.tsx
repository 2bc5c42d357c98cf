import { ComingSoon } from '../../components/ComingSoon';

export default function LivePage() {
  return <ComingSoon title="Live" />;
}
