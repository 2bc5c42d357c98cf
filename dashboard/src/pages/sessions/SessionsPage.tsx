import { ComingSoon } from '../../components/ComingSoon';

export default function SessionsPage() {
  return <ComingSoon title="Sessions" />;
}
